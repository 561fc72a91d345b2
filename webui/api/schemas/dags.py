"""DAGs: list arguments, the DAG, its source and its graph."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from webui.api.schemas.common import PageArgs


class DagListArgs(PageArgs):
    tags = fields.List(
        fields.String(validate=validate.Length(max=100)),
        load_default=None,
        metadata={"description": "Only DAGs carrying one of these tags (repeat or comma-separate)"},
    )
    paused = fields.Boolean(load_default=None)
    only_active = fields.Boolean(
        load_default=True, metadata={"description": "Hide DAGs whose file is gone"}
    )
    search = fields.String(
        load_default=None,
        validate=validate.Length(max=250),
        metadata={"description": "Text in the dag_id or the description"},
    )


class DagSchema(ma.Schema):
    dag_id = fields.String(required=True)
    description = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    schedule = fields.String(allow_none=True)
    is_paused = fields.Boolean()
    is_active = fields.Boolean()
    fileloc = fields.String()
    max_active_runs = fields.Integer()
    max_active_tasks = fields.Integer()
    last_parsed_at = fields.DateTime(allow_none=True)
    next_dagrun_create_after = fields.DateTime(allow_none=True)
    dag_display_name = fields.String(
        metadata={"description": "What the UI shows for the DAG: dag_display_name, else dag_id"}
    )
    owner_links = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "A link (http(s) or mailto) per owner name"},
    )


class DagDetailsSchema(DagSchema):
    doc_md = fields.String(allow_none=True, metadata={"description": "The DAG's Markdown docs"})
    fail_fast = fields.Boolean(
        metadata={"description": "A failed task fails the running tasks, skips the rest"}
    )
    max_consecutive_failed_dag_runs = fields.Integer(
        allow_none=True,
        metadata={
            "description": "Pause after this many failed runs in a row (null: the configured "
            "default, 0: never)"
        },
    )


class DagPatchSchema(ma.Schema):
    is_paused = fields.Boolean(required=True)


class DagVersionSchema(ma.Schema):
    dag_id = fields.String(required=True)
    version_number = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    dag_hash = fields.String(required=True)
    task_count = fields.Integer(required=True)
    run_count = fields.Integer(
        required=True, metadata={"description": "Runs created with this version"}
    )


class DagSourceArgs(ma.Schema):
    version_number = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1),
        metadata={"description": "The file as parsed into this version (default: as it is now)"},
    )


class DagSourceSchema(ma.Schema):
    dag_id = fields.String(required=True)
    fileloc = fields.String(required=True)
    content = fields.String(required=True)
    truncated = fields.Boolean(required=True)


class EdgeSchema(ma.Schema):
    source = fields.String(required=True)
    target = fields.String(required=True)
    label = fields.String(
        allow_none=True, metadata={"description": "The edge's label (``Label(...)``), if any"}
    )


class TaskGroupSchema(ma.Schema):
    group_id = fields.String(required=True, metadata={"description": "Full (prefixed) id"})
    label = fields.String(required=True)
    tooltip = fields.String(required=True)
    prefix_group_id = fields.Boolean(required=True)
    parent_group_id = fields.String(
        allow_none=True, required=True, metadata={"description": "None at the DAG's root"}
    )
    children = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Full ids of its tasks and subgroups"},
    )


class DagGraphSchema(ma.Schema):
    dag_id = fields.String(required=True)
    tasks = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "Each task's settings (retries, pool, priority, trigger rule...)"
            " and its task_group_id (None at the DAG's root)"
        },
    )
    edges = fields.List(fields.Nested(EdgeSchema), required=True)
    task_groups = fields.List(fields.Nested(TaskGroupSchema), required=True)
    params = fields.Dict(required=True)
