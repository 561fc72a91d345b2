"""The outbox relay: delivers dead-letter outbox rows after the commit that wrote them.

One pass (:meth:`OutboxRelay.run_once`) works in three steps:

1. **claim** — in one short transaction, take due ``dead_letter`` rows and lease them
   (``available_at`` moves ~30 s ahead, so that another relay skips them);
2. **deliver** — outside any transaction, publish to RabbitMQ or remove from it;
3. **record** — in one transaction per row, mark it delivered (and the dead letter
   ``published``) or record the failed attempt with its error and backoff.

Delivery is **at least once**: a relay that dies between publishing and recording
publishes the message again when the lease runs out. Consumers deduplicate by the
AMQP ``message_id`` (the dead letter's id). With no publisher (no ``dlq.amqp_url``)
dead letters live in the database only and rows are marked delivered without sending.
Rows of other kinds (e-mail, webhooks) are left for their own relay.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.delivery.outbox import claim_due, mark_delivered, mark_failed_attempt
from engine.errors import LoomError
from engine.models import DeadLetter, DeadLetterState, OutboxKind, OutboxMessage
from engine.services.deadletters import PUBLISH, REMOVE, pending_publication
from engine.timeutil import utcnow

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
"""Rows one pass claims at most."""


class PublicationPendingError(LoomError):
    """A removal found the dead letter's publication still pending; it is retried later."""


class DeadLetterPublisher(Protocol):
    """Where dead letters go: :class:`engine.delivery.amqp.RabbitPublisher` in production."""

    def publish(self, dead_letter_id: int, message: Mapping[str, Any]) -> None: ...

    def remove_message(self, dead_letter_id: int) -> bool: ...

    def close(self) -> None: ...


@dataclass
class RelayReport:
    """What one pass did; ``failed`` rows are pending again, with a backoff."""

    claimed: int = 0
    published: int = 0
    removed: int = 0
    kept_in_database: int = 0
    """Delivered without sending: no publisher, or nothing left to do."""
    failed: int = 0


@dataclass(frozen=True)
class _Job:
    message_id: int
    action: str
    dead_letter_id: int
    body: dict[str, Any] | None


class OutboxRelay:
    """Delivers dead-letter outbox rows; see the module docstring for the guarantees."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        publisher: DeadLetterPublisher | None,
        batch_size: int = BATCH_SIZE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.publisher = publisher
        self.batch_size = batch_size
        self.clock = clock
        self.pass_errors = 0
        """Passes that failed as a whole (a database outage, say); logged with traceback."""

    def run(self, stop_event: threading.Event, interval: float | timedelta = 1.0) -> None:
        """Run passes until ``stop_event`` is set, pausing ``interval`` when idle."""
        seconds = interval.total_seconds() if isinstance(interval, timedelta) else interval
        try:
            while not stop_event.is_set():
                report = self._safe_pass()
                if report is None or report.claimed < self.batch_size:
                    stop_event.wait(seconds)
        finally:
            if self.publisher is not None:
                self.publisher.close()

    def run_once(self, now: datetime) -> RelayReport:
        """One pass at ``now``: claim due rows, deliver each, record each outcome."""
        jobs = self._claim(now)
        report = RelayReport(claimed=len(jobs))
        for job in jobs:
            self._deliver_and_record(job, now, report)
        return report

    def _safe_pass(self) -> RelayReport | None:
        try:
            return self.run_once(self.clock())
        except Exception:  # a loop must survive a database outage; logged and counted
            self.pass_errors += 1
            logger.exception("outbox relay pass failed (%s so far)", self.pass_errors)
            return None

    def _claim(self, now: datetime) -> list[_Job]:
        with self.session_factory.begin() as session:
            messages = claim_due(
                session=session, now=now, limit=self.batch_size, kinds=[OutboxKind.DEAD_LETTER]
            )
            return [_job(message) for message in messages]

    def _deliver_and_record(self, job: _Job, now: datetime, report: RelayReport) -> None:
        try:
            outcome = self._deliver(job)
        except PublicationPendingError as exc:  # expected between two relays; no traceback
            logger.info("outbox message %s: %s", job.message_id, exc)
            self._record_failure(job, f"{type(exc).__name__}: {exc}", now)
            report.failed += 1
            return
        except Exception as exc:  # recorded on the row and retried; never silent
            logger.exception(
                "outbox message %s (%s dead letter %s) failed",
                job.message_id, job.action, job.dead_letter_id,
            )  # fmt: skip
            self._record_failure(job, f"{type(exc).__name__}: {exc}", now)
            report.failed += 1
            return
        self._record_success(job, now, published=outcome == "published")
        setattr(report, outcome, getattr(report, outcome) + 1)

    def _deliver(self, job: _Job) -> str:
        """Deliver one row; returns the :class:`RelayReport` field to count it in."""
        if self.publisher is None:
            return "kept_in_database"
        if job.action == PUBLISH:
            if self._resolved(job.dead_letter_id):
                return "kept_in_database"  # replayed or discarded before it went out
            self.publisher.publish(job.dead_letter_id, job.body or {})
            return "published"
        if job.action == REMOVE:
            self._check_published(job.dead_letter_id)
            found = self.publisher.remove_message(job.dead_letter_id)
            return "removed" if found else "kept_in_database"
        raise ValueError(f"unknown dead-letter outbox action {job.action!r}")

    def _resolved(self, dead_letter_id: int) -> bool:
        with self.session_factory() as session:
            dead_letter = session.get(DeadLetter, dead_letter_id)
            return dead_letter is None or dead_letter.state != DeadLetterState.PENDING

    def _check_published(self, dead_letter_id: int) -> None:
        """Removing must wait until a publication in flight is recorded (another relay's)."""
        with self.session_factory() as session:
            if pending_publication(session=session, dead_letter_id=dead_letter_id) is not None:
                raise PublicationPendingError(
                    f"dead letter {dead_letter_id} is still being published; removal waits"
                )

    def _record_success(self, job: _Job, now: datetime, *, published: bool) -> None:
        with self.session_factory.begin() as session:
            message = session.get_one(OutboxMessage, job.message_id)
            mark_delivered(session=session, message=message, now=now)
            if published:
                dead_letter = session.get(DeadLetter, job.dead_letter_id)
                if dead_letter is not None:
                    dead_letter.published = True

    def _record_failure(self, job: _Job, error: str, now: datetime) -> None:
        with self.session_factory.begin() as session:
            message = session.get_one(OutboxMessage, job.message_id)
            mark_failed_attempt(session=session, message=message, error=error, now=now)


def _job(message: OutboxMessage) -> _Job:
    payload = message.payload or {}
    return _Job(
        message_id=message.id,
        action=str(payload.get("action", PUBLISH)),
        dead_letter_id=int(payload["dead_letter_id"]),
        body=payload.get("message"),
    )


def build_relay(settings: Settings, session_factory: sessionmaker[Session]) -> OutboxRelay:
    """The relay of ``settings``: publishing to RabbitMQ when ``dlq.amqp_url`` is set,
    else only marking dead letters as kept in the database."""
    dlq = settings.dlq
    publisher: DeadLetterPublisher | None = None
    if dlq.amqp_url:
        from engine.delivery.amqp import RabbitPublisher  # pika only where RabbitMQ is used

        publisher = RabbitPublisher(dlq.amqp_url, exchange=dlq.exchange, queue=dlq.queue)
    return OutboxRelay(session_factory=session_factory, publisher=publisher)
