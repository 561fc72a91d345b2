"""Loom's own resources: dead letters, notification deliveries and the audit log."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from engine.delivery.notifications.deliveries import shown_error
from engine.models import DeadLetterState, DeliveryStatus
from engine.services.audit import Outcome
from webui.api.schemas.common import DateTime


class LastError(fields.String):
    """A delivery's ``last_error``, URLs masked to their host (even in rows stored before
    the notifier masked them)."""

    def _serialize(
        self, value: object, attr: str | None, obj: object, **kwargs: object
    ) -> str | None:
        return None if value is None else shown_error(str(value))


class DeadLetterFilters(ma.Schema):
    """The filters of a list of dead letters (paged by the list's arguments)."""

    state = fields.String(
        load_default=None, validate=validate.OneOf([s.value for s in DeadLetterState])
    )
    dag_id = fields.String(load_default=None, validate=validate.Length(max=250))


class DeadLetterSchema(ma.Schema):
    id = fields.Integer(required=True)
    dag_id = fields.String(required=True)
    run_id = fields.String(required=True)
    task_id = fields.String(required=True)
    try_number = fields.Integer()
    state = fields.String(required=True)
    payload = fields.Dict()
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    published = fields.Boolean()


class AuditFilters(ma.Schema):
    """The filters of a list of audit entries (paged by the list's arguments), by
    :class:`~engine.services.audit.AuditFilter`'s names."""

    username = fields.String(load_default=None, validate=validate.Length(max=250))
    action = fields.String(load_default=None, validate=validate.Length(max=250))
    outcome = fields.String(
        load_default=None, validate=validate.OneOf([outcome.value for outcome in Outcome])
    )
    target_prefix = fields.String(
        data_key="target",
        load_default=None,
        validate=validate.Length(max=1000),
        metadata={"description": "Targets starting with this text"},
    )
    dag_id = fields.String(
        load_default=None,
        validate=validate.Length(max=250),
        metadata={"description": "Entries about this DAG (its UI or API paths)"},
    )
    since = DateTime(load_default=None)
    until = DateTime(load_default=None)


class AuditEntrySchema(ma.Schema):
    id = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    user_id = fields.Integer(allow_none=True)
    username = fields.String(allow_none=True)
    source_ip = fields.String(allow_none=True)
    action = fields.String(required=True)
    target = fields.String(allow_none=True)
    outcome = fields.String(required=True)
    details = fields.Dict()


class NotificationFilters(ma.Schema):
    """The filters of a list of deliveries (paged by the list's arguments)."""

    status = fields.String(
        load_default=None, validate=validate.OneOf([s.value for s in DeliveryStatus])
    )
    channel = fields.String(load_default=None, validate=validate.OneOf(["email", "webhook"]))
    target = fields.String(load_default=None, validate=validate.Length(max=1000))
    event_type = fields.String(load_default=None, validate=validate.Length(max=64))
    event_id = fields.String(load_default=None, validate=validate.Length(max=250))
    dag_id = fields.String(load_default=None, validate=validate.Length(max=250))
    run_id = fields.String(load_default=None, validate=validate.Length(max=250))
    task_id = fields.String(load_default=None, validate=validate.Length(max=250))

    @ma.post_load
    def _status(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The status as the deliveries' query takes it."""
        if data["status"] is not None:
            data["status"] = DeliveryStatus(data["status"])
        return data


class NotificationSchema(ma.Schema):
    id = fields.Integer(required=True)
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    channel = fields.String(required=True)
    target = fields.String(required=True)
    recipients = fields.List(fields.String())
    dag_id = fields.String(allow_none=True)
    run_id = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    status = fields.String(required=True)
    attempts = fields.Integer()
    last_error = LastError(allow_none=True)
    next_attempt_at = fields.DateTime()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    payload = fields.Dict(metadata={"description": "The event document this delivery sends"})
