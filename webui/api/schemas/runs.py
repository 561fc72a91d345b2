"""Dag runs and task instances: list arguments, bodies and representations."""

from __future__ import annotations

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from engine.authoring.xcomvalues import readable
from engine.models import TaskInstance
from engine.models.runs import DagRunType
from engine.services.dagversions import load_run_dags
from engine.services.runs import RUN_ID_ALLOWED, RUN_ID_PATTERN
from engine.state import DagRunState, TaskInstanceState
from webui import db
from webui.api.schemas.common import DateTime, FullMatch, PageArgs

RUN_ID = FullMatch(RUN_ID_PATTERN, RUN_ID_ALLOWED)


class RunListArgs(PageArgs):
    state = fields.List(
        fields.String(validate=validate.OneOf([s.value for s in DagRunState])),
        load_default=None,
    )
    run_type = fields.List(
        fields.String(validate=validate.OneOf([t.value for t in DagRunType])),
        load_default=None,
    )
    logical_date_gte = DateTime(load_default=None)
    logical_date_lte = DateTime(load_default=None)
    start_date_gte = DateTime(load_default=None)
    start_date_lte = DateTime(load_default=None)


class AllRunsArgs(RunListArgs):
    dag_id = fields.List(
        fields.String(validate=validate.Length(max=250)),
        load_default=None,
        metadata={"description": "Only runs of these DAGs"},
    )


class DagRunSchema(ma.Schema):
    dag_id = fields.String(required=True)
    run_id = fields.String(required=True)
    state = fields.String(required=True)
    run_type = fields.String(required=True)
    logical_date = fields.DateTime(required=True)
    data_interval_start = fields.DateTime(allow_none=True)
    data_interval_end = fields.DateTime(allow_none=True)
    run_after = fields.DateTime(allow_none=True)
    queued_at = fields.DateTime(allow_none=True)
    start_date = fields.DateTime(allow_none=True)
    end_date = fields.DateTime(allow_none=True)
    triggered_by = fields.String(allow_none=True)
    conf = fields.Dict()
    dag_version = fields.Integer(
        attribute="dag_version_number",
        allow_none=True,
        metadata={"description": "The DAG version the run was created with and runs on"},
    )


class TriggerSchema(ma.Schema):
    conf = fields.Dict(load_default=None, metadata={"description": "Checked against params"})
    run_id = fields.String(load_default=None, validate=RUN_ID)
    logical_date = DateTime(load_default=None)
    run_after = DateTime(
        load_default=None, metadata={"description": "Start the run at this time, not now"}
    )


class RunPatchSchema(ma.Schema):
    state = fields.String(required=True, validate=validate.OneOf(["success", "failed"]))


class ClearRunSchema(ma.Schema):
    task_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=250)),
        load_default=None,
        validate=validate.Length(max=10_000),
        metadata={"description": "Only these tasks (default: every task)"},
    )
    downstream = fields.Boolean(load_default=False)


class TaskInstanceListArgs(PageArgs):
    state = fields.List(
        fields.String(validate=validate.OneOf([s.value for s in TaskInstanceState])),
        load_default=None,
    )


def task_group_id(ti: TaskInstance) -> str | None:
    """The full id of ``ti``'s task group in its run's DAG version (None at the root, or
    when the run's DAG is gone). Each run's graph is looked up once per request."""
    groups: dict[int, dict[str, str | None]] = g.setdefault("loom_task_groups", {})
    if ti.dag_run_id not in groups:
        found = load_run_dags(session=db.session(), run_ids=[ti.dag_run_id])
        run_dag = found.get(ti.dag_run_id)
        tasks = run_dag.dag.tasks if run_dag is not None else {}
        groups[ti.dag_run_id] = {t: task.task_group_id for t, task in tasks.items()}
    return groups[ti.dag_run_id].get(ti.task_id)


class TaskInstanceSchema(ma.Schema):
    dag_id = fields.String(required=True)
    run_id = fields.String(required=True)
    task_id = fields.String(required=True)
    map_index = fields.Integer(
        metadata={"description": "Which instance of a mapped task (0, 1, ...); -1 if unmapped"}
    )
    rendered_map_index = fields.Constant(
        None,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "The map index as its map_index_template renders it (Loom has "
            "no map_index_template yet: always null)",
        },
    )
    task_group_id = fields.Function(
        task_group_id,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "The full id of the task's group; null at the DAG's root",
        },
    )
    state = fields.String(required=True)
    try_number = fields.Integer()
    max_tries = fields.Integer()
    priority_class = fields.String()
    priority_weight = fields.Integer()
    pool = fields.String()
    pool_slots = fields.Integer()
    queue = fields.String()
    operator = fields.String(allow_none=True)
    queued_at = fields.DateTime(allow_none=True)
    start_date = fields.DateTime(allow_none=True)
    end_date = fields.DateTime(allow_none=True)
    duration = fields.Float(allow_none=True)
    hostname = fields.String(allow_none=True)
    next_retry_at = fields.DateTime(allow_none=True)
    next_poke_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "A rescheduling sensor's next poke (while it waits for it)"},
    )
    first_poke_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "A rescheduling sensor's first poke: its timeout counts from it"},
    )


class TaskClearSchema(ma.Schema):
    downstream = fields.Boolean(load_default=False)
    map_index = fields.Integer(
        load_default=None,
        validate=validate.Range(min=-1),
        metadata={"description": "Only this instance of a mapped task (default: all)"},
    )


def _map_index_arg() -> fields.Integer:
    return fields.Integer(
        load_default=-1,
        validate=validate.Range(min=-1),
        metadata={"description": "Which instance of a mapped task; -1 (default) if unmapped"},
    )


class MapIndexArgs(ma.Schema):
    map_index = _map_index_arg()


class TaskPatchSchema(ma.Schema):
    state = fields.String(required=True, validate=validate.OneOf(["success", "failed", "skipped"]))


class LogArgs(ma.Schema):
    map_index = _map_index_arg()
    offset = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=1_000_000_000),
        metadata={"description": "Characters to skip: pass the last next_offset to tail"},
    )


class LogSchema(ma.Schema):
    try_number = fields.Integer(required=True)
    state = fields.String(required=True)
    content = fields.String(required=True)
    offset = fields.Integer(
        required=True,
        metadata={
            "description": "Where content starts in the try's whole output; beyond the "
            "offset asked for when the output in between was cut (core.max_log_bytes)"
        },
    )
    next_offset = fields.Integer(required=True)
    truncated = fields.Boolean(required=True)
    complete = fields.Boolean(required=True)


class XComSchema(ma.Schema):
    key = fields.String(required=True)
    value = fields.Function(
        lambda xcom: readable(xcom.value),
        allow_none=True,
        metadata={
            "description": "The value as JSON; a datetime as ISO text, a tuple or set "
            "as a list, a dataclass as its fields and __class__"
        },
    )
    created_at = fields.DateTime()


class XComListSchema(ma.Schema):
    items = fields.List(fields.Nested(XComSchema), required=True)
