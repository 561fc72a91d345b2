"""``/notifications``: alert deliveries (one per event, channel and target), read only."""

from __future__ import annotations

from typing import Any

from engine.delivery.notifications.deliveries import DELIVERY_ORDER
from engine.security.roles import Resource
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.admin import NotificationListArgs, NotificationSchema
from webui.api.v2.notifications import filtered_deliveries

blp = api_blueprint(
    "notifications",
    "/notifications",
    "Alert deliveries: e-mails and webhook calls, with their status and errors",
    Resource.NOTIFICATIONS,
)


@blp.listing("", NotificationSchema, NotificationListArgs)
def list_notifications(args: dict[str, Any]) -> Any:
    """List deliveries (filter by status, channel, target, event and DAG), newest first."""
    return paged(filtered_deliveries(args), args, DELIVERY_ORDER, "-id")
