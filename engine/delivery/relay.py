"""The outbox relay: the dispatcher of ``dead_letter`` rows, which go to RabbitMQ.

A ``dead_letter`` row asks to publish a dead letter (written when a task fails for good)
or to remove it from the queue again (written when a person replays or discards it).
:class:`DeadLetterHandler` does either for :class:`~engine.delivery.dispatcher.Dispatcher`,
which claims, retries and backs off (see there for the guarantees). Consumers
deduplicate by the AMQP ``message_id``, the dead letter's id. With no publisher (no
``dlq.amqp_url``) dead letters live in the database only and rows are marked delivered
without sending. The relay runs inside ``loom scheduler`` and ``loom standalone``;
``notification`` rows are the notifier's. The relay also submits ``dag_callback`` rows
to workers (:mod:`engine.delivery.callbacks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.delivery.callbacks import DagCallbackHandler
from engine.delivery.dispatcher import (
    BATCH_SIZE,
    ClaimedMessage,
    Clock,
    Dispatcher,
    Handler,
)
from engine.delivery.errors import RetryLaterError
from engine.executors.base import CallbackTransport
from engine.models import DeadLetter, DeadLetterState, OutboxKind
from engine.services.deadletters import PUBLISH, REMOVE, pending_publication
from engine.timeutil import utcnow


class PublicationPendingError(RetryLaterError):
    """A removal found the dead letter's publication still pending; it is retried later."""


class DeadLetterPublisher(Protocol):
    """Where dead letters go: :class:`engine.delivery.amqp.RabbitPublisher` in production."""

    def publish(self, dead_letter_id: int, message: Mapping[str, Any]) -> None: ...

    def remove_message(self, dead_letter_id: int) -> bool: ...

    def close(self) -> None: ...


class DeadLetterHandler:
    """Publishes dead letters to RabbitMQ, or removes them, as each row's ``action`` says."""

    def __init__(
        self, *, session_factory: sessionmaker[Session], publisher: DeadLetterPublisher | None
    ) -> None:
        self.session_factory = session_factory
        self.publisher = publisher

    def describe(self, message: ClaimedMessage) -> str:
        return f"{_action(message)} dead letter {message.payload.get('dead_letter_id')}"

    def deliver(self, message: ClaimedMessage) -> str:
        """Deliver one row; returns the report field to count it in."""
        if self.publisher is None:
            return "kept_in_database"
        action, dead_letter_id = _action(message), _dead_letter_id(message)
        if action == PUBLISH:
            if self._resolved(dead_letter_id):
                return "kept_in_database"  # replayed or discarded before it went out
            self.publisher.publish(dead_letter_id, message.payload.get("message") or {})
            return "published"
        if action == REMOVE:
            self._check_published(dead_letter_id)
            found = self.publisher.remove_message(dead_letter_id)
            return "removed" if found else "kept_in_database"
        raise ValueError(f"unknown dead-letter outbox action {action!r}")

    def record(
        self, *, session: Session, message: ClaimedMessage, outcome: str, now: datetime
    ) -> dict[str, int]:
        """A published dead letter says so (the UI and ``loom dlq`` show it)."""
        if outcome == "published":
            dead_letter = session.get(DeadLetter, _dead_letter_id(message))
            if dead_letter is not None:
                dead_letter.published = True
        return {outcome: 1}

    def close(self) -> None:
        if self.publisher is not None:
            self.publisher.close()

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


def _action(message: ClaimedMessage) -> str:
    return str(message.payload.get("action", PUBLISH))


def _dead_letter_id(message: ClaimedMessage) -> int:
    return int(message.payload["dead_letter_id"])


def make_relay(
    *,
    session_factory: sessionmaker[Session],
    publisher: DeadLetterPublisher | None,
    callbacks: CallbackTransport | None = None,
    batch_size: int = BATCH_SIZE,
    clock: Clock = utcnow,
) -> Dispatcher:
    """A dispatcher of ``dead_letter`` rows that publishes through ``publisher`` and, given
    ``callbacks``, of ``dag_callback`` rows that it submits there."""
    handlers: dict[OutboxKind, Handler] = {
        OutboxKind.DEAD_LETTER: DeadLetterHandler(
            session_factory=session_factory, publisher=publisher
        )
    }
    if callbacks is not None:
        handlers[OutboxKind.DAG_CALLBACK] = DagCallbackHandler(callbacks)
    return Dispatcher(
        name="outbox relay",
        session_factory=session_factory,
        handlers=handlers,
        batch_size=batch_size,
        clock=clock,
    )


def build_relay(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    callbacks: CallbackTransport | None = None,
) -> Dispatcher:
    """The relay of ``settings``: publishing to RabbitMQ when ``dlq.amqp_url`` is set,
    else only marking dead letters as kept in the database; submitting DAG callback
    requests through ``callbacks`` when given."""
    dlq = settings.dlq
    publisher: DeadLetterPublisher | None = None
    if dlq.amqp_url:
        from engine.delivery.amqp import RabbitPublisher  # pika only where RabbitMQ is used

        publisher = RabbitPublisher(dlq.amqp_url, exchange=dlq.exchange, queue=dlq.queue)
    return make_relay(session_factory=session_factory, publisher=publisher, callbacks=callbacks)
