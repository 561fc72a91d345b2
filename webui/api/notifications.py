"""``/notifications``: alert deliveries (one per event, channel and target), read only."""

from __future__ import annotations

from typing import Any

from engine.delivery.notifications.deliveries import deliveries
from engine.models import DeliveryStatus, NotificationDelivery
from engine.security.roles import Resource
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.admin import NotificationListArgs, NotificationSchema
from webui.auth import visible_dag_ids

blp = api_blueprint(
    "notifications",
    "/notifications",
    "Alert deliveries: e-mails and webhook calls, with their status and errors",
    Resource.NOTIFICATIONS,
)

NOTIFICATION_ORDER = {
    "id": NotificationDelivery.id,
    "created_at": NotificationDelivery.created_at,
    "updated_at": NotificationDelivery.updated_at,
    "next_attempt_at": NotificationDelivery.next_attempt_at,
    "dag_id": NotificationDelivery.dag_id,
}


@blp.listing("", NotificationSchema, NotificationListArgs)
def list_notifications(args: dict[str, Any]) -> Any:
    """List deliveries (filter by status, channel, target, event and DAG), newest first."""
    status = args["status"]
    stmt = deliveries(
        dag_ids=visible_dag_ids(),
        status=DeliveryStatus(status) if status is not None else None,
        channel=args["channel"],
        target=args["target"],
        event_type=args["event_type"],
        event_id=args["event_id"],
        dag_id=args["dag_id"],
        run_id=args["run_id"],
        task_id=args["task_id"],
    )
    return paged(stmt, args, NOTIFICATION_ORDER, "-id")
