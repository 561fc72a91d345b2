"""Alert deliveries: every e-mail and webhook call, with its status, attempts and error;
a delivery the notifier gave up on can be sent again (Retry)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from engine.delivery.notifications.deliveries import deliveries, retry_delivery, shown_error
from engine.errors import ConflictError
from engine.models import DeliveryStatus, NotificationDelivery
from engine.security.roles import Action, Resource
from engine.services.pagination import Page
from engine.timeutil import utcnow
from webui import db
from webui.auth import visible_dag_ids
from webui.ui.blueprint import bp
from webui.ui.paging import list_page
from webui.ui.session import page

PAGE_SIZE = 50
CHANNELS = ("email", "webhook")
FILTERS = ("status", "channel", "dag_id", "event_type")


@bp.route("/notifications")
@page(Action.READ, Resource.NOTIFICATIONS)
def notifications() -> str:
    return _listing()


def _listing() -> str:
    args = {name: request.args.get(name, "").strip() for name in FILTERS}
    if args["status"] and args["status"] not in {s.value for s in DeliveryStatus}:
        raise BadRequest(f"status must be one of {', '.join(s.value for s in DeliveryStatus)}")
    if args["channel"] and args["channel"] not in CHANNELS:
        raise BadRequest(f"channel must be one of {', '.join(CHANNELS)}")
    stmt = deliveries(
        dag_ids=visible_dag_ids(),
        status=DeliveryStatus(args["status"]) if args["status"] else None,
        channel=args["channel"] or None,
        dag_id=args["dag_id"] or None,
        event_type=args["event_type"] or None,
    )
    listed: Page[NotificationDelivery] = list_page(
        stmt, order=[NotificationDelivery.id.desc()], limit=PAGE_SIZE
    )
    return render_template(
        "ui/notifications.html",
        page=listed,
        args=args,
        statuses=[s.value for s in DeliveryStatus],
        channels=CHANNELS,
        shown_error=shown_error,
    )


@bp.route("/notifications/<int:id>/retry", methods=["POST"])
@page(Action.EDIT, Resource.NOTIFICATIONS)
def retry_notification(id: int) -> Response | tuple[str, int]:
    """Send a delivery the notifier gave up on again; back to the list, saying so."""
    try:
        row = retry_delivery(session=db.session(), id=id, now=utcnow(), dag_ids=visible_dag_ids())
    except ConflictError as refused:  # not failed (any more): the list as it is now, 409
        db.session().rollback()
        flash(str(refused), "error")
        return _listing(), 409
    db.commit()
    flash(f"notification {id} ({row.event_type} to {row.target}) will be sent again")
    return redirect(url_for("ui.notifications"))
