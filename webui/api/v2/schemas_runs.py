"""Airflow 3's shapes of DAG runs and task instances (``DAGRunResponse``,
``TaskInstanceResponse``, their bodies and lists). A run's or a task instance's ``note`` is
set by PATCH (and by a trigger); clearing does not set notes: a ``note`` there other than
null is refused (422), never dropped in silence."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from engine.models import DagRun, TaskInstance
from engine.models.runs import NOTE_LENGTH
from engine.services.dagversions import listed_version
from engine.state import DagRunState, TaskInstanceState
from webui import db
from webui.api.schemas.common import RUN_ID, DagNameSchema, DateTime
from webui.api.v2.common import V2PageArgs

TI_STATES = [s.value for s in TaskInstanceState if s is not TaskInstanceState.NONE]
RUN_STATES = [s.value for s in DagRunState]


def no_note(value: str | None) -> None:
    if value is not None:
        raise ma.ValidationError("Loom sets notes by PATCH on the run or task instance, not here")


NOTE = validate.Length(max=NOTE_LENGTH)


def only_null(problem: str) -> Callable[[object], None]:
    """A validator refusing any value but null with ``problem``: what Loom does not do is
    refused, never dropped in silence."""

    def check(value: object) -> None:
        if value is not None:
            raise ma.ValidationError(problem)

    return check


unsupported = only_null("not supported by Loom (clear one run: dag_run_id)")


INFERRED = only_null("Loom infers a manual run's data interval from its schedule")


class RunDateFilters(ma.Schema):
    """The dates a list of runs narrows by, in the query and in the batch list's body alike."""

    logical_date_gte = DateTime(load_default=None)
    logical_date_lte = DateTime(load_default=None)
    start_date_gte = DateTime(load_default=None)
    start_date_lte = DateTime(load_default=None)


class RunFilters(RunDateFilters):
    """Airflow's filters of a list of runs, by :class:`~engine.services.runs.RunFilter`'s names."""

    states = fields.List(
        fields.String(validate=validate.OneOf(RUN_STATES)), data_key="state", load_default=None
    )
    run_types = fields.List(fields.String(), data_key="run_type", load_default=None)


class RunListArgs(RunFilters, V2PageArgs):
    """The list's filters and paging."""


class RunBatchSchema(RunDateFilters):
    dag_ids = fields.List(fields.String(validate=validate.Length(max=250)), load_default=None)
    states = fields.List(fields.String(validate=validate.OneOf(RUN_STATES)), load_default=None)
    page_offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))
    page_limit = fields.Integer(load_default=100, validate=validate.Range(min=0))
    order_by = fields.String(load_default=None, validate=validate.Length(max=64))


def _display(obj: Any) -> str:
    return str(obj.dag_id)


class DagVersionSchema(ma.Schema):
    """Airflow's ``DagVersionResponse`` (Loom has no bundles: their fields are null)."""

    id = fields.Function(
        lambda version: str(uuid.UUID(int=version.id)),
        required=True,
        metadata={"type": "string", "format": "uuid"},
    )
    version_number = fields.Integer(required=True)
    dag_id = fields.String(required=True)
    dag_display_name = fields.Function(_display, required=True, metadata={"type": "string"})
    bundle_name = fields.Constant(None, allow_none=True, metadata={"type": "string"})
    bundle_version = fields.Constant(None, allow_none=True, metadata={"type": "string"})
    bundle_url = fields.Constant(None, allow_none=True, metadata={"type": "string"})
    created_at = fields.DateTime(required=True)


class DagRunSchema(ma.Schema):
    dag_id = fields.String(required=True)
    dag_display_name = fields.Function(_display, required=True, metadata={"type": "string"})
    dag_run_id = fields.String(attribute="run_id", required=True)
    state = fields.String(required=True)
    run_type = fields.String(required=True)
    logical_date = fields.DateTime(allow_none=True)
    data_interval_start = fields.DateTime(allow_none=True)
    data_interval_end = fields.DateTime(allow_none=True)
    run_after = fields.DateTime(required=True)
    queued_at = fields.DateTime(allow_none=True)
    start_date = fields.DateTime(allow_none=True)
    end_date = fields.DateTime(allow_none=True)
    last_scheduling_decision = fields.DateTime(allow_none=True)
    duration = fields.Method("_duration", allow_none=True, metadata={"type": "number"})
    triggering_user_name = fields.String(attribute="triggered_by", allow_none=True)
    conf = fields.Dict(allow_none=True)
    note = fields.String(allow_none=True)
    dag_versions = fields.Method(
        "_versions",
        required=True,
        metadata={"type": "array", "items": {"$ref": "#/components/schemas/DagVersion"}},
    )

    def _versions(self, run: DagRun) -> list[dict[str, Any]]:
        """The version the run was created with (none for runs older than versions)."""
        if run.dag_version_id is None:
            return []
        version = listed_version(session=db.session(), id=run.dag_version_id)
        return [] if version is None else [DagVersionSchema().dump(version)]

    def _duration(self, run: DagRun) -> float | None:
        if run.start_date is None or run.end_date is None:
            return None
        return (run.end_date - run.start_date).total_seconds()


class TriggerSchema(ma.Schema):
    dag_run_id = fields.String(load_default=None, allow_none=True, validate=RUN_ID)
    logical_date = DateTime(load_default=None, allow_none=True)
    run_after = DateTime(load_default=None, allow_none=True)
    data_interval_start = DateTime(load_default=None, allow_none=True, validate=INFERRED)
    data_interval_end = DateTime(load_default=None, allow_none=True, validate=INFERRED)
    partition_key = fields.String(
        load_default=None, allow_none=True, validate=only_null("Loom has no partitions")
    )
    conf = fields.Dict(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True, validate=NOTE)
    force = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Loom: trigger even though the DAG's file does not import now "
            "(else 409 naming the import error); Airflow's client sends it as an additional "
            "property. Also a query parameter."
        },
    )


class TriggerArgs(ma.Schema):
    force = fields.Boolean(
        load_default=False,
        metadata={"description": "Loom: trigger even though the DAG's file does not import now"},
    )


class RunPatchArgs(ma.Schema):
    update_mask = fields.List(
        fields.String(validate=validate.OneOf(["state", "note"])), load_default=None
    )


class RunPatchSchema(ma.Schema):
    """What a PATCH names is changed (``update_mask``: only those); absent is unchanged."""

    state = fields.String(allow_none=True, validate=validate.OneOf(["queued", "success", "failed"]))
    note = fields.String(allow_none=True, validate=NOTE)


class RunClearSchema(ma.Schema):
    dry_run = fields.Boolean(load_default=True)
    only_failed = fields.Boolean(load_default=False)
    only_new = fields.Boolean(load_default=False)
    run_on_latest_version = fields.Boolean(load_default=False)
    note = fields.String(load_default=None, allow_none=True, validate=no_note)


class TaskInstanceListArgs(V2PageArgs):
    state = fields.List(fields.String(validate=validate.OneOf(TI_STATES)), load_default=None)
    task_id = fields.String(load_default=None, validate=validate.Length(max=250))


def _ti_uuid(ti: TaskInstance) -> str:
    return str(uuid.UUID(int=ti.id))


def _ti_state(ti: TaskInstance) -> str | None:
    return None if ti.state is TaskInstanceState.NONE else ti.state.value


def _shown_as(attribute: str, **kwargs: Any) -> fields.Function:
    """A string field repeating ``attribute`` under another name (Loom's display names are
    its ids), from an object or a mapping alike."""
    return fields.Function(
        lambda obj: ma.utils.get_value(obj, attribute), metadata={"type": "string"}, **kwargs
    )


class _TaskInstanceKeySchema(ma.Schema):
    """How Airflow names a task instance in every payload about one; read by the model's
    names from a task instance or a row of it (Loom's display names are the ids)."""

    dag_id = fields.String(required=True)
    dag_display_name = _shown_as("dag_id", required=True)
    dag_run_id = fields.String(attribute="run_id", required=True)
    task_id = fields.String(required=True)
    task_display_name = _shown_as("task_id", required=True)
    map_index = fields.Integer(required=True)


class _TaskInstanceSettingsSchema(ma.Schema):
    """What a task instance and each of its tries show of the task's settings."""

    max_tries = fields.Integer(required=True)
    pool = fields.String(required=True)
    pool_slots = fields.Integer(required=True)
    priority_weight = fields.Integer(allow_none=True)
    queue = fields.String(allow_none=True)
    operator = fields.String(allow_none=True)
    operator_name = _shown_as("operator", allow_none=True)
    executor_config = fields.Constant("{}", required=True, metadata={"type": "string"})


def read_attributes(*schemas: type[ma.Schema]) -> tuple[str, ...]:
    """The attributes the fields of ``schemas`` read as they are (a computed field reads none
    of its own)."""
    return tuple(
        dict.fromkeys(
            field.attribute or name
            for schema in schemas
            for name, field in schema().fields.items()
            if not isinstance(field, (fields.Constant, fields.Function))
        )
    )


class TaskInstanceSchema(_TaskInstanceKeySchema, _TaskInstanceSettingsSchema):
    id = fields.Function(_ti_uuid, required=True, metadata={"type": "string", "format": "uuid"})
    state = fields.Function(_ti_state, allow_none=True, metadata={"type": "string"})
    try_number = fields.Integer(required=True)
    hostname = fields.String(allow_none=True)
    pid = fields.Integer(allow_none=True)
    logical_date = fields.DateTime(attribute="dag_run.logical_date", allow_none=True)
    run_after = fields.DateTime(attribute="dag_run.run_after", required=True)
    scheduled_when = fields.DateTime(attribute="scheduled_at", allow_none=True)
    queued_when = fields.DateTime(attribute="queued_at", allow_none=True)
    start_date = fields.DateTime(allow_none=True)
    end_date = fields.DateTime(allow_none=True)
    duration = fields.Float(allow_none=True)
    note = fields.String(allow_none=True)
    rendered_map_index = fields.Constant(None, allow_none=True, metadata={"type": "string"})


class TaskPatchArgs(ma.Schema):
    map_index = fields.Integer(load_default=None, validate=validate.Range(min=-1))
    update_mask = fields.List(
        fields.String(validate=validate.OneOf(["new_state", "note"])), load_default=None
    )


class _RelativesSchema(ma.Schema):
    """Airflow's ``include_*``: which relatives of the named tasks an operation takes too."""

    include_upstream = fields.Boolean(load_default=False)
    include_downstream = fields.Boolean(load_default=False)
    include_future = fields.Boolean(load_default=False)
    include_past = fields.Boolean(load_default=False)


class TaskPatchSchema(_RelativesSchema):
    """``new_state`` and ``note`` change when named (``update_mask``: only those)."""

    new_state = fields.String(
        allow_none=True, validate=validate.OneOf(["success", "failed", "skipped"])
    )
    note = fields.String(allow_none=True, validate=NOTE)


class ClearTasksSchema(_RelativesSchema):
    dry_run = fields.Boolean(load_default=True)
    dag_run_id = fields.String(load_default=None, allow_none=True, validate=RUN_ID)
    task_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=250)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=10_000),
    )
    only_failed = fields.Boolean(load_default=True)
    only_running = fields.Boolean(load_default=False)
    reset_dag_runs = fields.Boolean(load_default=True)
    prevent_running_task = fields.Boolean(
        load_default=False,
        metadata={"description": "Loom never clears a running task instance, whatever this says"},
    )
    run_on_latest_version = fields.Boolean(load_default=False)
    start_date = DateTime(load_default=None, allow_none=True, validate=unsupported)
    end_date = DateTime(load_default=None, allow_none=True, validate=unsupported)
    note = fields.String(load_default=None, allow_none=True, validate=no_note)


class LogArgs(ma.Schema):
    map_index = fields.Integer(load_default=-1, validate=validate.Range(min=-1))
    full_content = fields.Boolean(load_default=False)
    token = fields.String(load_default=None, validate=validate.Length(max=64))


class LogSchema(ma.Schema):
    content = fields.List(fields.Dict(), required=True)
    continuation_token = fields.String(allow_none=True)


class XComArgs(V2PageArgs):
    map_index = fields.Integer(load_default=None, validate=validate.Range(min=-1))


class XComEntryArgs(ma.Schema):
    map_index = fields.Integer(load_default=-1, validate=validate.Range(min=-1))


class XComSchema(DagNameSchema):
    key = fields.String(required=True)
    run_id = fields.String(required=True)
    task_id = fields.String(required=True)
    task_display_name = fields.String(required=True)
    map_index = fields.Integer(required=True)
    timestamp = fields.DateTime(required=True)
    logical_date = fields.DateTime(allow_none=True)
    run_after = fields.DateTime(required=True)


class TaskTrySchema(_TaskInstanceKeySchema, _TaskInstanceSettingsSchema):
    """One try of a task instance: the instance's key and settings, the try's own fields."""

    FROM_TASK_INSTANCE = read_attributes(_TaskInstanceKeySchema, _TaskInstanceSettingsSchema)
    """What a try shows of its task instance, by the model's names."""

    try_number = fields.Integer(required=True)
    state = fields.String(allow_none=True)
    start_date = fields.DateTime(allow_none=True)
    end_date = fields.DateTime(allow_none=True)
    duration = fields.Float(allow_none=True)
    hostname = fields.String(allow_none=True)
    pid = fields.Integer(allow_none=True)


class XComValueSchema(XComSchema):
    value = fields.Raw(allow_none=True)
