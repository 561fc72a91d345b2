"""The seam between the notifier and a way of sending: :class:`Channel`, and how a try
fails (:class:`DeliveryError`).

A channel sends one claimed delivery and either returns (the receiver acknowledged it:
an SMTP server accepted the message, a webhook answered 2xx) or raises
:class:`DeliveryError` saying what kind of failure it was; the notifier decides from
the kind whether to retry, when, and whether the try counts against ``max_attempts``.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Protocol

from engine.delivery.notifications.deliveries import DeliveryJob
from engine.errors import LoomError


class FailureKind(StrEnum):
    """How a try failed, which decides what happens next."""

    UNREACHABLE = "unreachable"
    """No connection at all (refused, no route, DNS, connect timeout): retried until
    the receiver is back, without counting against ``max_attempts``."""
    TRANSIENT = "transient"
    """The receiver answered but not yet (HTTP 5xx, 429, 408, a read timeout, SMTP 4xx):
    retried with exponential backoff up to ``max_attempts``."""
    PERMANENT = "permanent"
    """The receiver refused for good (other HTTP 4xx, SMTP 5xx): given up at once."""


class DeliveryError(LoomError):
    """A try to deliver failed; ``kind`` says whether and how to retry."""

    def __init__(
        self, message: str, kind: FailureKind, *, retry_after: timedelta | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        """The receiver's own ``Retry-After``, honoured when longer than the backoff."""


class Channel(Protocol):
    """One way of sending deliveries (``email``, ``webhook``)."""

    name: str

    def send(self, job: DeliveryJob) -> str | None:
        """Send ``job``; a note worth keeping (a partial refusal) or None.

        Raises :class:`DeliveryError` when the receiver did not acknowledge it.
        """
        ...

    def max_attempts(self, target: str) -> int:
        """Counted tries of one delivery to ``target`` before it is given up."""
        ...

    def longest_try(self) -> timedelta:
        """An upper bound of one try, so that a claim outlasts it."""
        ...
