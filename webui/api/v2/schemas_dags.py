"""Airflow 3's DAG shapes (``DAGResponse``, ``DAGDetailsResponse``, ``TaskResponse``...)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from webui.api.schemas.common import DagNameSchema
from webui.api.v2.common import V2PageArgs


class DagListArgs(V2PageArgs):
    tags = fields.List(fields.String(validate=validate.Length(max=100)), load_default=None)
    tags_match_mode = fields.String(load_default="any", validate=validate.OneOf(["any", "all"]))
    dag_id_pattern = fields.String(load_default=None, validate=validate.Length(max=250))
    dag_display_name_pattern = fields.String(load_default=None, validate=validate.Length(max=250))
    paused = fields.Boolean(load_default=None)
    exclude_stale = fields.Boolean(load_default=True)
    only_active = fields.Boolean(
        load_default=None, metadata={"description": "Airflow 2's name of not exclude_stale"}
    )


class DagTagSchema(DagNameSchema):
    name = fields.String(required=True)


class DagSchema(DagNameSchema):
    description = fields.String(allow_none=True)
    fileloc = fields.String(required=True)
    relative_fileloc = fields.String(allow_none=True)
    file_token = fields.String(required=True, metadata={"description": "Loom: the dag_id"})
    is_paused = fields.Boolean(required=True)
    is_stale = fields.Boolean(required=True)
    has_import_errors = fields.Boolean(required=True)
    has_task_concurrency_limits = fields.Boolean(required=True)
    is_backfillable = fields.Boolean(required=True)
    last_parsed_time = fields.DateTime(allow_none=True)
    max_active_runs = fields.Integer(allow_none=True)
    max_active_tasks = fields.Integer(required=True)
    max_consecutive_failed_dag_runs = fields.Integer(required=True)
    next_dagrun_logical_date = fields.DateTime(allow_none=True)
    next_dagrun_run_after = fields.DateTime(allow_none=True)
    owners = fields.List(fields.String(), required=True)
    tags = fields.List(fields.Nested(DagTagSchema), required=True)
    timetable_summary = fields.String(allow_none=True)
    timetable_description = fields.String(allow_none=True)
    timetable_partitioned = fields.Boolean(required=True)
    timetable_periodic = fields.Boolean(required=True)


class DagDetailsSchema(DagSchema):
    catchup = fields.Boolean(required=True)
    concurrency = fields.Integer(required=True, metadata={"description": "max_active_tasks"})
    render_template_as_native_obj = fields.Boolean(required=True)
    doc_md = fields.String(allow_none=True)
    owner_links = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True)
    params = fields.Dict(allow_none=True)
    start_date = fields.DateTime(allow_none=True)
    end_date = fields.DateTime(allow_none=True)
    timezone = fields.String(allow_none=True)
    dag_run_timeout = fields.String(allow_none=True)
    is_paused_upon_creation = fields.Boolean(allow_none=True)


class DagPatchArgs(ma.Schema):
    update_mask = fields.List(
        fields.String(validate=validate.OneOf(["is_paused"])), load_default=None
    )


class DagsPatchArgs(V2PageArgs):
    update_mask = fields.List(
        fields.String(validate=validate.OneOf(["is_paused"])), load_default=None
    )
    tags = fields.List(fields.String(validate=validate.Length(max=100)), load_default=None)
    tags_match_mode = fields.String(load_default="any", validate=validate.OneOf(["any", "all"]))
    owners = fields.List(fields.String(validate=validate.Length(max=250)), load_default=None)
    dag_id_pattern = fields.String(
        load_default=None,
        validate=validate.Length(max=250),
        metadata={"description": "Text in the dag_id (case-insensitive); ~ or % for every DAG"},
    )
    dag_id_prefix_pattern = fields.String(load_default=None, validate=validate.Length(max=250))
    exclude_stale = fields.Boolean(load_default=True)
    paused = fields.Boolean(load_default=None)


class DagPatchSchema(ma.Schema):
    is_paused = fields.Boolean(required=True)


class TimeDeltaSchema(ma.Schema):
    __type = fields.Constant("TimeDelta", data_key="__type", required=True)
    days = fields.Integer(required=True)
    seconds = fields.Integer(required=True)
    microseconds = fields.Integer(required=True)


class TaskSchema(ma.Schema):
    task_id = fields.String(required=True)
    task_display_name = fields.String(allow_none=True)
    operator_name = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    depends_on_past = fields.Boolean(required=True)
    wait_for_downstream = fields.Boolean(required=True)
    retry_exponential_backoff = fields.Float(required=True)
    extra_links = fields.List(fields.String(), required=True)
    downstream_task_ids = fields.List(fields.String())
    is_mapped = fields.Boolean()
    pool = fields.String(allow_none=True)
    pool_slots = fields.Float(allow_none=True)
    priority_weight = fields.Float(allow_none=True)
    queue = fields.String(allow_none=True)
    retries = fields.Float(allow_none=True)
    retry_delay = fields.Nested(TimeDeltaSchema, allow_none=True)
    execution_timeout = fields.Nested(TimeDeltaSchema, allow_none=True)
    template_fields = fields.List(fields.String())
    trigger_rule = fields.String(allow_none=True)
    weight_rule = fields.String(allow_none=True)
    doc_md = fields.String(allow_none=True)


class TaskCollectionSchema(ma.Schema):
    tasks = fields.List(fields.Nested(TaskSchema), required=True)
    total_entries = fields.Integer(required=True)


class DagSourceArgs(ma.Schema):
    version_number = fields.Integer(load_default=None, validate=validate.Range(min=1))


class DagSourceSchema(DagNameSchema):
    content = fields.String(allow_none=True)
    version_number = fields.Integer(allow_none=True)
