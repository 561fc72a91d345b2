"""The seam between the notifier and a way of sending: :class:`Channel`.

A channel sends one claimed delivery and either returns (the receiver acknowledged it:
an SMTP server accepted the message, a webhook answered 2xx) or raises
:class:`~engine.delivery.errors.DeliveryError` saying what kind of failure it was; the
notifier decides from the kind whether to retry, when, and whether the try counts
against ``max_attempts``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from engine.delivery.notifications.deliveries import DeliveryJob


class Channel(Protocol):
    """One way of sending deliveries (``email``, ``webhook``)."""

    name: str

    def send(self, job: DeliveryJob) -> str | None:
        """Send ``job``; a note worth keeping (a partial refusal) or None.

        Raises :class:`~engine.delivery.errors.DeliveryError` when the receiver did not
        acknowledge it.
        """
        ...

    def max_attempts(self, target: str) -> int:
        """Counted tries of one delivery to ``target`` before it is given up."""
        ...

    def longest_try(self) -> timedelta:
        """An upper bound of one try, so that a claim outlasts it."""
        ...
