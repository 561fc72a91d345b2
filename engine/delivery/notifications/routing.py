"""Who hears about an event: the task's or DAG's settings first, then ``loom.yaml``.

Routing happens in two steps, so that the transaction of a state change never needs
the configuration:

1. **at the state change** (:func:`task_route`, :func:`run_route`): the serialized task
   or DAG says whether anyone wants this event by e-mail or webhook and names the
   recipients and targets; a :class:`Route` travels with the event through the outbox.
   ``None`` in a route means "the task names no one: use ``alerts.email`` /
   ``alerts.notify``"; an empty tuple means "no one, not even the defaults".
2. **in the notifier** (:class:`Router`): defaults are filled in, webhooks filter by their
   ``events``, and each (channel, target) becomes one planned delivery.

Which flag decides e-mail per event (webhooks get every event of a task or DAG that names
them, except success events, which need ``notify_on_success``):

* ``task.failed``, ``task.deadline_missed``: the task's ``email_on_failure`` (default on);
* ``task.retrying``: ``email_on_retry`` (default on);
* ``task.succeeded``: ``email_on_success`` (default off);
* ``dead_letter.created``: never, the ``task.failed`` e-mail reports the same failure;
* ``dag_run.failed``, ``dag_run.deadline_missed``: the DAG's ``email_on_failure``;
* ``dag_run.succeeded``: the DAG's ``email_on_success`` (default off).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.authoring.serialization import SerializedDAG, SerializedTask
from engine.config import Settings, WebhookSettings
from engine.delivery.notifications.events import EventType

logger = logging.getLogger(__name__)

EMAIL = "email"
WEBHOOK = "webhook"
SMTP_TARGET = "smtp"
"""The ``target`` of every e-mail delivery (the recipients are listed beside it)."""

E = EventType

_SUCCESS = frozenset({E.TASK_SUCCEEDED, E.DAG_RUN_SUCCEEDED})


@dataclass(frozen=True)
class Route:
    """Who an event is for, as its task or DAG says; ``None``: the ``alerts`` defaults."""

    email: tuple[str, ...] | None
    notify: tuple[str, ...] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "email": None if self.email is None else list(self.email),
            "notify": None if self.notify is None else list(self.notify),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Route:
        email, notify = data.get("email"), data.get("notify")
        return cls(
            email=None if email is None else tuple(email),
            notify=None if notify is None else tuple(notify),
        )


def task_route(task: SerializedTask, event_type: EventType) -> Route | None:
    """The route of a task event; None when the task wants it on no channel at all."""
    by_email = {
        E.TASK_FAILED: task.email_on_failure,
        E.TASK_DEADLINE_MISSED: task.email_on_failure,
        E.TASK_RETRYING: task.email_on_retry,
        E.TASK_SUCCEEDED: task.email_on_success,
    }.get(event_type, False)
    by_webhook = task.notify_on_success if event_type in _SUCCESS else True
    return _route(by_email, task.email, by_webhook, task.notify)


def run_route(dag: SerializedDAG, event_type: EventType) -> Route | None:
    """The route of a dag run event; None when the DAG wants it on no channel at all."""
    success = event_type in _SUCCESS
    by_email = dag.email_on_success if success else dag.email_on_failure
    by_webhook = dag.notify_on_success if success else True
    return _route(by_email, dag.email, by_webhook, dag.notify)


def _route(
    by_email: bool, email: Sequence[str], by_webhook: bool, notify: Sequence[str]
) -> Route | None:
    route = Route(
        email=(tuple(email) or None) if by_email else (),
        notify=(tuple(notify) or None) if by_webhook else (),
    )
    return None if route.email == () and route.notify == () else route


@dataclass(frozen=True)
class PlannedDelivery:
    """One delivery to create: a channel, a target, and for e-mail its recipients.

    ``error`` set means it cannot be sent at all (an unknown webhook name); it is
    recorded as failed at once, so that the mistake shows in the API.
    """

    channel: str
    target: str
    recipients: tuple[str, ...] = ()
    error: str | None = None


class Router:
    """Turns an event and its :class:`Route` into deliveries, with ``loom.yaml``'s defaults."""

    def __init__(self, settings: Settings) -> None:
        self._alerts = settings.alerts
        self._smtp_enabled = bool(settings.smtp.host)
        self._webhooks = settings.webhooks

    def plan(self, event_type: str, route: Route) -> list[PlannedDelivery]:
        """The deliveries of one event, e-mail first, then webhooks in the order named."""
        return self._email(route) + self._webhook_plans(event_type, route)

    def webhook(self, name: str) -> WebhookSettings | None:
        """The webhook called ``name`` (any case, as environment variables name them)."""
        key = self.webhook_key(name)
        return None if key is None else self._webhooks[key]

    def webhook_key(self, name: str) -> str | None:
        """The name under ``webhooks`` that ``name`` means, matched in any case."""
        if name in self._webhooks:
            return name
        return next((key for key in self._webhooks if key.lower() == name.lower()), None)

    def _email(self, route: Route) -> list[PlannedDelivery]:
        recipients = route.email if route.email is not None else tuple(self._alerts.email)
        if not recipients:
            return []
        if not self._smtp_enabled:
            logger.debug("e-mail to %s not sent: smtp.host is empty", ", ".join(recipients))
            return []
        unique = tuple(dict.fromkeys(recipients))
        return [PlannedDelivery(EMAIL, SMTP_TARGET, unique)]

    def _webhook_plans(self, event_type: str, route: Route) -> list[PlannedDelivery]:
        names = route.notify if route.notify is not None else tuple(self._alerts.notify)
        keys = dict.fromkeys(self.webhook_key(name) or name for name in names)
        plans = []
        for key in keys:
            webhook = self._webhooks.get(key)
            if webhook is None:
                known = ", ".join(sorted(self._webhooks)) or "none"
                error = f"no webhook named {key!r} in the configuration (known: {known})"
                plans.append(PlannedDelivery(WEBHOOK, key, error=error))
            elif not webhook.events or event_type in webhook.events:
                plans.append(PlannedDelivery(WEBHOOK, key))
        return plans
