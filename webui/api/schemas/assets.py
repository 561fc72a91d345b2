"""Assets and asset events as the API shows and takes them (Airflow 3's field names)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from webui.api.schemas.common import PageArgs


class ProducingTaskSchema(ma.Schema):
    dag_id = fields.String(required=True)
    task_id = fields.String(required=True)


class ScheduledDagSchema(ma.Schema):
    dag_id = fields.String(required=True)


class AssetSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    uri = fields.String(required=True)
    group = fields.String(required=True)
    extra = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    producing_tasks = fields.List(fields.Nested(ProducingTaskSchema), required=True)
    scheduled_dags = fields.List(fields.Nested(ScheduledDagSchema), required=True)


class AssetEventSchema(ma.Schema):
    id = fields.Integer(required=True)
    asset_id = fields.Integer(required=True)
    name = fields.String(required=True)
    uri = fields.String(required=True)
    group = fields.String(required=True)
    extra = fields.Dict(required=True)
    source_dag_id = fields.String(allow_none=True)
    source_run_id = fields.String(allow_none=True)
    source_task_id = fields.String(allow_none=True)
    source_map_index = fields.Integer(required=True)
    source_alias_name = fields.String(allow_none=True)
    created_dagruns = fields.List(fields.String(), required=True)
    """``dag_id/run_id`` of the runs that consumed the event."""
    timestamp = fields.DateTime(required=True)


class AssetEventArgs(PageArgs):
    asset_id = fields.Integer(load_default=None, validate=validate.Range(min=1))


class AssetEventBodySchema(ma.Schema):
    asset_id = fields.Integer(required=True, validate=validate.Range(min=1))
    extra = fields.Dict(load_default=dict)


class QueuedEventSchema(ma.Schema):
    dag_id = fields.String(required=True)
    asset_id = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
