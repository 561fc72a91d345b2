"""``/api/v2/notifications``: Loom's alert deliveries (one per event, channel and target;
Airflow has no such resource): list with filters, get one, retry one the notifier gave up
on. A role limited to some DAGs sees the deliveries about those DAGs only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from engine.delivery.notifications.deliveries import (
    DELIVERY_ORDER,
    deliveries,
    get_delivery,
    retry_delivery,
)
from engine.security.roles import Action, Resource
from engine.timeutil import utcnow
from webui import db
from webui.api.schemas.admin import NotificationFilters, NotificationSchema
from webui.api.v2.common import V2PageArgs, filters_in, page, v2_blueprint
from webui.auth import visible_dag_ids

blp = v2_blueprint(
    "notifications",
    "/notifications",
    "Notification (Loom): e-mails and webhook calls, with their status and errors",
    Resource.NOTIFICATIONS,
)


class NotificationArgs(V2PageArgs, NotificationFilters):
    """The list's filters and paging."""


def filtered_deliveries(args: Mapping[str, Any]) -> sa.Select[Any]:
    """The deliveries the caller may see that match the list's filters in ``args``."""
    return deliveries(dag_ids=visible_dag_ids(), **filters_in(args, NotificationFilters))


@blp.listing("", "notifications", NotificationSchema, query=NotificationArgs)
def list_notifications(args: dict[str, Any]) -> Any:
    """List deliveries (filter by status, channel, target, event and DAG), newest first."""
    return page("notifications", filtered_deliveries(args), args, DELIVERY_ORDER, "-id")


@blp.operation("GET", "/<int:notification_id>", Action.READ, returns=NotificationSchema)
def get_notification(notification_id: int) -> Any:
    """Get one delivery with the event document it sends."""
    return get_delivery(session=db.session(), id=notification_id, dag_ids=visible_dag_ids())


@blp.operation("POST", "/<int:notification_id>/retry", Action.EDIT, returns=NotificationSchema)
def retry_notification(notification_id: int) -> Any:
    """Send a delivery the notifier gave up on (``failed``) again, attempts reset; 409 for
    any other status."""
    row = retry_delivery(
        session=db.session(), id=notification_id, now=utcnow(), dag_ids=visible_dag_ids()
    )
    db.commit()
    return row
