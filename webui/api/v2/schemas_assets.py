"""Airflow 3's shapes of assets, aliases, asset events and queued events (``AssetResponse``,
``AssetEventResponse``, ``QueuedEventResponse``, their bodies and query arguments)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from webui.api.schemas.common import DagNameSchema, DateTime
from webui.api.v2.common import V2PageArgs, pattern_filter
from webui.api.v2.schemas_runs import only_null

TEXT = validate.Length(max=1500)


class AliasSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    group = fields.String(required=True)


class _Stamped(ma.Schema):
    dag_id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ScheduledDagSchema(_Stamped):
    pass


class TaskReferenceSchema(_Stamped):
    task_id = fields.String(required=True)


class LastEventSchema(ma.Schema):
    id = fields.Integer(allow_none=True)
    timestamp = fields.DateTime(allow_none=True)


class AssetSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    uri = fields.String(required=True)
    group = fields.String(required=True)
    extra = fields.Dict(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    scheduled_dags = fields.List(fields.Nested(ScheduledDagSchema), required=True)
    producing_tasks = fields.List(fields.Nested(TaskReferenceSchema), required=True)
    consuming_tasks = fields.List(
        fields.Nested(TaskReferenceSchema),
        required=True,
        metadata={"description": "Loom does not record inlets: always empty"},
    )
    aliases = fields.List(fields.Nested(AliasSchema), required=True)
    watchers = fields.List(
        fields.Dict(), required=True, metadata={"description": "Loom has no asset watchers"}
    )
    last_asset_event = fields.Nested(LastEventSchema, allow_none=True)


class RunReferenceSchema(ma.Schema):
    dag_id = fields.String(required=True)
    run_id = fields.String(required=True)
    state = fields.String(required=True)
    logical_date = fields.DateTime(allow_none=True)
    data_interval_start = fields.DateTime(allow_none=True)
    data_interval_end = fields.DateTime(allow_none=True)
    start_date = fields.DateTime(required=True)
    end_date = fields.DateTime(allow_none=True)
    partition_key = fields.String(allow_none=True)
    triggering = fields.Boolean(required=True)


class AssetEventSchema(ma.Schema):
    id = fields.Integer(required=True)
    asset_id = fields.Integer(required=True)
    name = fields.String(allow_none=True)
    uri = fields.String(allow_none=True)
    group = fields.String(allow_none=True)
    extra = fields.Dict(allow_none=True)
    source_dag_id = fields.String(allow_none=True)
    source_task_id = fields.String(allow_none=True)
    source_run_id = fields.String(allow_none=True)
    source_map_index = fields.Integer(required=True)
    partition_key = fields.String(allow_none=True)
    created_dagruns = fields.List(fields.Nested(RunReferenceSchema), required=True)
    timestamp = fields.DateTime(required=True)


class AssetEventBodySchema(ma.Schema):
    asset_id = fields.Integer(required=True)
    extra = fields.Dict(load_default=dict)
    partition_key = fields.String(
        load_default=None, allow_none=True, validate=only_null("Loom has no partitioned assets")
    )
    access_control = fields.Dict(
        load_default=None,
        allow_none=True,
        validate=only_null("Loom's asset events are global: roles decide who may post them"),
    )


class QueuedEventSchema(DagNameSchema):
    asset_id = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)


class AssetArgs(V2PageArgs):
    name_pattern = fields.String(load_default=None, validate=TEXT)
    uri_pattern = fields.String(load_default=None, validate=TEXT)
    dag_ids = fields.List(fields.String(validate=TEXT), load_default=None)
    only_active = fields.Boolean(load_default=True)


class AssetEventFilters(ma.Schema):
    """Airflow's filters of the asset events, by :class:`~engine.services.assetrefs.EventFilter`'s
    names (``name_pattern`` as Loom's substring: :func:`~webui.api.v2.common.pattern_filter`)."""

    asset_id = fields.Integer(load_default=None)
    source_dag_id = fields.String(load_default=None, validate=TEXT)
    source_task_id = fields.String(load_default=None, validate=TEXT)
    source_run_id = fields.String(load_default=None, validate=TEXT)
    source_map_index = fields.Integer(load_default=None)
    name_pattern = fields.String(load_default=None, validate=TEXT)
    timestamp_gte = DateTime(load_default=None)
    timestamp_gt = DateTime(load_default=None)
    timestamp_lte = DateTime(load_default=None)
    timestamp_lt = DateTime(load_default=None)

    @ma.post_load
    def _substring(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Airflow's pattern as the substring Loom searches for."""
        data["name_pattern"] = pattern_filter(data["name_pattern"])
        return data


class AssetEventArgs(AssetEventFilters, V2PageArgs):
    """The list's filters and paging."""


class QueuedEventArgs(ma.Schema):
    before = DateTime(load_default=None)
