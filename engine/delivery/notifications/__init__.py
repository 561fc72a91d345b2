"""Alerts: e-mail and webhook notifications of what needs attention, via the outbox.

A state change that deserves an alert (a task failed, is retrying, or succeeded when
asked; a run failed or succeeded; a dead letter; a missed deadline) writes an event to
the outbox in its own transaction (:mod:`~engine.delivery.notifications.emit`). The notifier
(:mod:`~engine.delivery.notifications.notifier`, ``loom notifier``) fans each event out into
deliveries, one per channel and target (:mod:`~engine.delivery.notifications.routing`,
:mod:`~engine.delivery.notifications.deliveries`), and sends them by e-mail
(:mod:`~engine.delivery.notifications.email`) or webhook
(:mod:`~engine.delivery.notifications.webhook`) with retries
and backoff. Deadline misses are found by a scheduler step
(:mod:`~engine.delivery.notifications.deadlines`).

Exceptions: :class:`~engine.delivery.errors.DeliveryError` (a
:class:`~engine.errors.LoomError`) says how one try failed.
"""

from engine.lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
