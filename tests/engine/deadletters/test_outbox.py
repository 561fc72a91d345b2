"""The transactional outbox: enqueue with dedup, claim with a lease, backoff without end."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.delivery import outbox
from engine.delivery.outbox import backoff, claim_due, enqueue, mark_delivered, mark_failed_attempt
from engine.models import DeliveryStatus, OutboxKind, OutboxMessage

from .conftest import NOW


def add(session: Session, key: str | None, kind: OutboxKind = OutboxKind.DEAD_LETTER) -> int:
    return enqueue(session=session, kind=kind, payload={"k": key}, dedup_key=key, now=NOW).id


def count(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0


def test_a_repeated_dedup_key_returns_the_first_row(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        first = add(session, "dead_letter:1")
    with session_factory.begin() as session:
        assert add(session, "dead_letter:1") == first
        add(session, None)
        add(session, None)
    assert count(session_factory) == 3


def test_losing_the_dedup_race_keeps_the_callers_transaction(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_factory.begin() as session:
        first = add(session, "k")
    # The select-first misses (as when another transaction commits in between), so the
    # insert hits the unique key inside its SAVEPOINT.
    lookups = iter([None])
    real = outbox._by_dedup_key
    monkeypatch.setattr(
        outbox, "_by_dedup_key", lambda session, key: next(lookups, None) or real(session, key)
    )
    with session_factory.begin() as session:
        other = add(session, "other")
        assert add(session, "k") == first
    with session_factory() as session:
        assert session.get(OutboxMessage, other) is not None
    assert count(session_factory) == 2


def test_claim_takes_due_pending_rows_of_the_kinds_asked_and_leases_them(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        due = add(session, "a")
        later = add(session, "b")
        session.get_one(OutboxMessage, later).available_at = NOW + timedelta(minutes=1)
        email = add(session, "c", OutboxKind.NOTIFICATION)
        done = add(session, "d")
        mark_delivered(session=session, message=session.get_one(OutboxMessage, done), now=NOW)
    with session_factory.begin() as session:
        claimed = claim_due(session=session, now=NOW, limit=10, kinds=[OutboxKind.DEAD_LETTER])
        assert [m.id for m in claimed] == [due]
        assert claimed[0].state == DeliveryStatus.PENDING
        assert claimed[0].available_at == NOW + outbox.CLAIM_LEASE
    with session_factory.begin() as session:
        assert claim_due(session=session, now=NOW, limit=10, kinds=[OutboxKind.DEAD_LETTER]) == []
        assert [m.id for m in claim_due(session=session, now=NOW, limit=10)] == [email]
    with session_factory.begin() as session:
        later_on = NOW + timedelta(minutes=2)
        claimed = claim_due(session=session, now=later_on, limit=10, kinds=[OutboxKind.DEAD_LETTER])
        ids = [m.id for m in claimed]
        assert ids == [due, later]


def test_failed_attempts_back_off_exponentially_up_to_five_minutes_and_never_give_up(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        message_id = add(session, "a")
    for attempt in range(1, 13):
        with session_factory.begin() as session:
            message = session.get_one(OutboxMessage, message_id)
            mark_failed_attempt(session=session, message=message, error=f"down {attempt}", now=NOW)
    with session_factory() as session:
        message = session.get_one(OutboxMessage, message_id)
        assert (message.state, message.attempts) == (DeliveryStatus.PENDING, 12)
        assert message.last_error == "down 12"
        assert message.available_at == NOW + timedelta(minutes=5)
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 8, 9, 1000)] == [2, 4, 8, 256, 300, 300]


@pytest.mark.postgres
def test_a_second_relay_skips_rows_another_one_has_locked(postgres_url: str) -> None:
    from engine.models import migrate
    from engine.models.session import create_db_engine, make_session_factory

    migrate.upgrade_and_seed(postgres_url)
    engine = create_db_engine(postgres_url)
    factory = make_session_factory(engine)
    try:
        with factory.begin() as session:
            first, second = add(session, "a"), add(session, "b")
        with factory.begin() as one, factory.begin() as two:
            claimed_one = claim_due(session=one, now=NOW, limit=1)
            claimed_two = claim_due(session=two, now=NOW, limit=10)
            assert [m.id for m in claimed_one] == [first]
            assert [m.id for m in claimed_two] == [second]
    finally:
        engine.dispose()
