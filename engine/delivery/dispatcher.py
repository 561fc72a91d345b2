"""One loop for everything the outbox holds: claim due rows, hand each to its kind's handler.

One pass (:meth:`Dispatcher.run_once`) works in three steps, then runs the dispatcher's
follow-up steps:

1. **claim** — in one short transaction, take due rows of the kinds this dispatcher has a
   handler for and lease them (:func:`~engine.delivery.outbox.claim_due`: ``available_at``
   moves ahead, so that another dispatcher skips them; PostgreSQL skips rows another
   transaction has locked, ``FOR UPDATE SKIP LOCKED``);
2. **deliver** — outside any transaction, the handler does the side effect
   (:meth:`Handler.deliver`);
3. **record** — in one transaction per row, the handler writes what goes with the
   delivery (:meth:`Handler.record`) and the row is marked delivered; or, when either
   step raised, the failed attempt is recorded with its error and a backoff. Rows are
   retried until they are delivered: an outage delays delivery and loses nothing.

Delivery is **at least once**: a dispatcher that dies between delivering and recording
delivers the row again when its lease runs out; receivers deduplicate by the id the
handler sends along (a dead letter's id, an event's id). Two dispatchers of the same
kinds may run side by side.

Kinds and their handlers: ``dead_letter`` (:mod:`engine.delivery.relay`, publishes to
RabbitMQ), ``dag_callback`` (:mod:`engine.delivery.callbacks`, submits a job to a worker;
the relay's too) and ``notification`` (:mod:`engine.delivery.notifications.notifier`,
fans an event out into deliveries, which a follow-up step sends).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from engine.delivery.errors import RetryLaterError
from engine.delivery.outbox import claim_due, mark_delivered, mark_failed_attempt
from engine.models import OutboxKind, OutboxMessage
from engine.timeutil import utcnow

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
"""Outbox rows one pass claims at most (and deliveries a follow-up step tries at most)."""

Clock = Callable[[], datetime]


@dataclass
class DispatchReport:
    """What one pass did; each dispatcher fills the fields of its kinds."""

    claimed: int = 0
    """Outbox rows claimed."""
    published: int = 0
    """Dead letters published to RabbitMQ."""
    removed: int = 0
    """Dead letters removed from RabbitMQ."""
    kept_in_database: int = 0
    """Dead-letter rows delivered without sending: no publisher, or nothing left to do."""
    events: int = 0
    """Alert events fanned out into deliveries."""
    failed: int = 0
    """Outbox rows whose attempt failed: pending again, with a backoff."""
    planned: int = 0
    """Deliveries created (including those failed at once: an unknown webhook name)."""
    delivered: int = 0
    retrying: int = 0
    given_up: int = 0
    held: int = 0
    """Deliveries made to wait because their target just failed."""
    lost: int = 0
    """Outcomes discarded because another notifier took the claim over."""
    callbacks_submitted: int = 0
    """DAG callback requests handed to workers."""

    @property
    def tried(self) -> int:
        """Deliveries a follow-up step tried."""
        return self.delivered + self.retrying + self.given_up + self.lost

    def add(self, counts: Mapping[str, int]) -> None:
        """Add ``counts`` (field name → number) to the report."""
        for field, number in counts.items():
            setattr(self, field, getattr(self, field) + number)


@dataclass(frozen=True)
class ClaimedMessage:
    """A claimed outbox row, as a handler needs it (no session attached)."""

    id: int
    kind: OutboxKind
    payload: dict[str, Any]


class Handler(Protocol):
    """Delivers the outbox rows of one kind."""

    def describe(self, message: ClaimedMessage) -> str:
        """A few words naming what ``message`` asks for, for the log."""
        ...

    def deliver(self, message: ClaimedMessage) -> str:
        """Do the side effect, outside any transaction; the outcome, a report field.

        Raises when it failed; the row is retried after a backoff.
        """
        ...

    def record(
        self, *, session: Session, message: ClaimedMessage, outcome: str, now: datetime
    ) -> dict[str, int]:
        """Write what goes with the delivery, in the transaction that marks the row
        delivered; the counts to add to the report."""
        ...

    def close(self) -> None:
        """Release connections; the next delivery opens them again."""
        ...


class FollowUp(Protocol):
    """A step that runs after the outbox rows of each pass (the notifier's sending)."""

    def run(self, current: Clock, report: DispatchReport, limit: int) -> None:
        """Do at most ``limit`` units of work, reading the time from ``current``."""
        ...


class Dispatcher:
    """Delivers outbox rows of the kinds in ``handlers``; see the module docstring."""

    def __init__(
        self,
        *,
        name: str,
        session_factory: sessionmaker[Session],
        handlers: Mapping[OutboxKind, Handler],
        follow_ups: Sequence[FollowUp] = (),
        batch_size: int = BATCH_SIZE,
        clock: Clock = utcnow,
    ) -> None:
        self.name = name
        self.session_factory = session_factory
        self.handlers = dict(handlers)
        self.follow_ups = list(follow_ups)
        self.batch_size = batch_size
        self.clock = clock
        self.pass_errors = 0
        """Passes that failed as a whole (a database outage, say); logged with traceback."""

    def run(self, stop_event: threading.Event, interval: float | timedelta = 1.0) -> None:
        """Run passes until ``stop_event`` is set, pausing ``interval`` when idle."""
        seconds = interval.total_seconds() if isinstance(interval, timedelta) else interval
        logger.info("%s started", self.name)
        try:
            while not stop_event.is_set():
                if not self._busy(self._safe_pass()):
                    stop_event.wait(seconds)
        finally:
            self.close()
            logger.info("%s stopped", self.name)

    def run_once(self, now: datetime | None = None) -> DispatchReport:
        """One pass: deliver due outbox rows, then run the follow-up steps.

        ``now`` fixes the time of the whole pass (tests); None reads the clock at each
        step, so that a claim made late in a long pass still gets its whole lease.
        """
        current = self.clock if now is None else _fixed(now)
        report = DispatchReport()
        self.dispatch_outbox(current(), report)
        for follow_up in self.follow_ups:
            follow_up.run(current, report, self.batch_size)
        return report

    def dispatch_outbox(self, now: datetime, report: DispatchReport) -> None:
        """Claim due rows of this dispatcher's kinds, deliver each, record each outcome."""
        messages = self._claim(now)
        report.claimed += len(messages)
        for message in messages:
            self._deliver_and_record(message, now, report)

    def close(self) -> None:
        """Close every handler's connections."""
        for handler in self.handlers.values():
            handler.close()

    def _busy(self, report: DispatchReport | None) -> bool:
        """Whether the pass found a full batch, so the next one should follow at once."""
        if report is None:
            return False
        return report.claimed >= self.batch_size or report.tried >= self.batch_size

    def _safe_pass(self) -> DispatchReport | None:
        try:
            return self.run_once()
        except Exception:  # a loop must survive a database outage; logged and counted
            self.pass_errors += 1
            logger.exception("%s pass failed (%s so far)", self.name, self.pass_errors)
            return None

    def _claim(self, now: datetime) -> list[ClaimedMessage]:
        with self.session_factory.begin() as session:
            rows = claim_due(session=session, now=now, limit=self.batch_size, kinds=self.handlers)
            return [ClaimedMessage(row.id, row.kind, dict(row.payload or {})) for row in rows]

    def _deliver_and_record(
        self, message: ClaimedMessage, now: datetime, report: DispatchReport
    ) -> None:
        handler = self.handlers[message.kind]
        try:
            outcome = handler.deliver(message)
            with self.session_factory.begin() as session:
                counts = handler.record(session=session, message=message, outcome=outcome, now=now)
                row = session.get_one(OutboxMessage, message.id)
                mark_delivered(session=session, message=row, now=now)
        except RetryLaterError as exc:  # expected (another dispatcher's work in flight)
            logger.info("outbox message %s: %s", message.id, exc)
            self._record_failure(message, exc, now, report)
        except Exception as exc:  # recorded on the row and retried; never silent
            logger.exception("outbox message %s (%s) failed", message.id, handler.describe(message))
            self._record_failure(message, exc, now, report)
        else:
            report.add(counts)

    def _record_failure(
        self, message: ClaimedMessage, exc: Exception, now: datetime, report: DispatchReport
    ) -> None:
        with self.session_factory.begin() as session:
            row = session.get_one(OutboxMessage, message.id)
            error = f"{type(exc).__name__}: {exc}"
            mark_failed_attempt(session=session, message=row, error=error, now=now)
        report.failed += 1


def _fixed(now: datetime) -> Clock:
    def clock() -> datetime:
        return now

    return clock
