"""How a delivery fails, whatever it delivers (a dead letter, an e-mail, a webhook call).

LoomError (engine.errors)
├── DeliveryError          a try to deliver failed; ``kind`` says whether and how to retry
└── RetryLaterError        a delivery waits for something expected; retried, no traceback
    └── PublicationPendingError (engine.delivery.relay)
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from engine.errors import LoomError


class FailureKind(StrEnum):
    """How a try failed, which decides what happens next."""

    UNREACHABLE = "unreachable"
    """No connection at all (refused, no route, DNS, connect timeout): retried until
    the receiver is back, without counting against ``max_attempts``."""
    TRANSIENT = "transient"
    """The receiver answered but not yet (HTTP 5xx, 429, 408, a read timeout, SMTP 4xx,
    an unconfirmed AMQP publish): retried with exponential backoff up to ``max_attempts``."""
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


class RetryLaterError(LoomError):
    """A delivery that must wait for something expected; retried without a traceback."""


def describe(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` (only ``Type`` when the message is empty)."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
