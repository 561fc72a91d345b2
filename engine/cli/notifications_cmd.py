"""``loom notifications``: alert deliveries (the notifier itself is ``loom notifier``)."""

from __future__ import annotations

import click

from engine.cli.common import loom_context


@click.group("notifications")
def group() -> None:
    """Alert deliveries: send one the notifier gave up on again."""


@group.command("retry")
@click.argument("notification_id", type=int)
def retry_command(notification_id: int) -> None:
    """Send delivery NOTIFICATION_ID again: one that failed (given up) becomes pending,
    its attempts reset, and the next notifier pass sends it."""
    from engine.delivery.notifications.deliveries import retry_delivery
    from engine.timeutil import utcnow

    with loom_context().session() as session:
        row = retry_delivery(session=session, id=notification_id, now=utcnow())
        what = f"{row.event_type} event {row.event_id} by {row.channel} to {row.target}"
    click.echo(f"notification {notification_id} ({what}) will be sent again")
