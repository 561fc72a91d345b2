"""Alerts: e-mail and webhook notifications of what needs attention, via the outbox.

A state change that deserves an alert (a task failed, is retrying, or succeeded when
asked; a run failed or succeeded; a dead letter; a missed deadline) writes an event to
the outbox in its own transaction (:mod:`~engine.notifications.emit`). The notifier
(:mod:`~engine.notifications.notifier`, ``loom notifier``) fans each event out into
deliveries, one per channel and target (:mod:`~engine.notifications.routing`,
:mod:`~engine.notifications.deliveries`), and sends them by e-mail
(:mod:`~engine.notifications.email`) or webhook (:mod:`~engine.notifications.webhook`)
with retries and backoff. Deadline misses are found by a scheduler step
(:mod:`~engine.notifications.deadlines`).

Exceptions: :class:`~engine.notifications.channels.DeliveryError` (a
:class:`~engine.errors.LoomError`) says how one try failed.
"""

from engine.notifications.events import SCHEMA_VERSION as SCHEMA_VERSION
from engine.notifications.events import Event as Event
from engine.notifications.events import EventType as EventType
from engine.notifications.notifier import Notifier as Notifier
from engine.notifications.notifier import NotifierReport as NotifierReport
from engine.notifications.notifier import build_notifier as build_notifier
from engine.notifications.webhook import sign as sign
from engine.notifications.webhook import verify_signature as verify_signature

__all__ = [
    "SCHEMA_VERSION",
    "Event",
    "EventType",
    "Notifier",
    "NotifierReport",
    "build_notifier",
    "sign",
    "verify_signature",
]
