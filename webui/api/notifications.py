"""``/notifications``: alert deliveries (one per event, channel and target), read only."""

from __future__ import annotations

from typing import Any

from engine.delivery.notifications.deliveries import deliveries
from engine.models import DeliveryStatus, NotificationDelivery
from engine.security.roles import Action, Resource
from webui.api.blueprint import Blueprint
from webui.api.paging import paged
from webui.api.schemas.admin import NotificationListArgs, NotificationSchema
from webui.api.schemas.common import page_of
from webui.auth import requires, visible_dag_ids

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/api/v1/notifications",
    description="Alert deliveries: e-mails and webhook calls, with their status and errors",
)

NOTIFICATION_ORDER = {
    "id": NotificationDelivery.id,
    "created_at": NotificationDelivery.created_at,
    "updated_at": NotificationDelivery.updated_at,
    "next_attempt_at": NotificationDelivery.next_attempt_at,
    "dag_id": NotificationDelivery.dag_id,
}


@blp.route("", methods=["GET"])
@requires(Action.READ, Resource.NOTIFICATIONS)
@blp.arguments(NotificationListArgs, location="query")
@blp.response(200, page_of(NotificationSchema))
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
