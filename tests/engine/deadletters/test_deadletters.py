"""Recording, listing, replaying and discarding dead letters (database only)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import ConflictError, NotFoundError
from engine.models import (
    DagRun,
    DeadLetter,
    DeadLetterState,
    DeliveryStatus,
    OutboxKind,
    OutboxMessage,
    TaskInstance,
)
from engine.services.deadletters import (
    TRACEBACK_TAIL_BYTES,
    discard_dead_letter,
    get_dead_letter,
    list_dead_letters,
    record_dead_letter,
    replay_dead_letter,
)
from engine.state import DagRunState, TaskInstanceState

from .conftest import NOW, RUN_ID, add_dead_letter, add_failed_run


def outbox_rows(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def resolve_as_ada(
    session_factory: sessionmaker[Session], resolve: Callable[..., object], dead_letter_id: int
) -> None:
    """Replay or discard (``resolve``) the dead letter as user ada, and commit."""
    with session_factory.begin() as session:
        resolve(session=session, id=dead_letter_id, now=NOW, by="ada")


def test_record_writes_the_dead_letter_and_its_outbox_row(
    session_factory: sessionmaker[Session], dead_letter_id: int
) -> None:
    with session_factory() as session:
        dead_letter = session.get_one(DeadLetter, dead_letter_id)
        assert (dead_letter.state, dead_letter.try_number, dead_letter.published) == (
            DeadLetterState.PENDING, 3, False,
        )  # fmt: skip
        [row] = outbox_rows(session)
    assert (row.kind, row.state, row.dedup_key) == (
        OutboxKind.DEAD_LETTER, DeliveryStatus.PENDING, f"dead_letter:{dead_letter_id}",
    )  # fmt: skip
    assert row.payload == {
        "action": "publish", "dead_letter_id": dead_letter_id, "message": dead_letter.payload,
    }  # fmt: skip
    assert dead_letter.payload == {
        "schema_version": 1,
        "dead_letter_id": dead_letter_id,
        "dag_id": "etl",
        "run_id": RUN_ID,
        "task_id": "extract",
        "map_index": -1,
        "try_number": 3,
        "error": {
            "type": "ValueError",
            "message": "bad row 42",
            "traceback_tail": "Traceback (most recent call last):\n  ...\nValueError: bad row 42\n",
        },
        "conf": {"region": "eu"},
        "logical_date": "2026-03-01T12:00:00+00:00",
        "failed_at": "2026-03-01T12:00:00+00:00",
        "run_started_at": "2026-03-01T11:50:00+00:00",
        "worker_host": "worker-1",
    }


def test_a_rollback_leaves_neither_row(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        add_failed_run(session)
    with session_factory() as session:
        run = session.scalars(sa.select(DagRun)).one()
        extract = session.scalars(sa.select(TaskInstance).filter_by(task_id="extract")).one()
        record_dead_letter(
            session=session, ti=extract, dag_run=run, error_type="E", message="m",
            traceback=None, worker_host=None, now=NOW,
        )  # fmt: skip
        session.rollback()
    with session_factory() as session:
        assert session.scalars(sa.select(DeadLetter)).all() == []
        assert outbox_rows(session) == []


def test_the_message_keeps_only_the_tail_of_a_long_traceback(
    session_factory: sessionmaker[Session],
) -> None:
    traceback = "".join(f"frame {n} ü\n" for n in range(2000)) + "ValueError: boom\n"
    with session_factory.begin() as session:
        run, extract, _load = add_failed_run(session)
        dead_letter = record_dead_letter(
            session=session, ti=extract, dag_run=run, error_type="ValueError", message="boom",
            traceback=traceback, worker_host=None, now=NOW,
        )  # fmt: skip
        tail = dead_letter.payload["error"]["traceback_tail"]
    assert traceback.endswith(tail)
    assert TRACEBACK_TAIL_BYTES - 4 < len(tail.encode()) <= TRACEBACK_TAIL_BYTES


def test_list_and_get(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        first = add_dead_letter(session).id
        second = add_dead_letter(session, run_id="manual__2").id
        discard_dead_letter(session=session, id=first, now=NOW, by="ada")
    with session_factory() as session:
        assert [d.id for d in list_dead_letters(session=session)] == [second, first]
        pending = list_dead_letters(session=session, state=DeadLetterState.PENDING)
        assert [d.id for d in pending] == [second]
        assert [d.id for d in list_dead_letters(session=session, limit=1, offset=1)] == [first]
        assert get_dead_letter(session=session, id=second).run_id == "manual__2"
        with pytest.raises(NotFoundError, match="dead letter 999 not found"):
            get_dead_letter(session=session, id=999)


def test_replay_runs_the_task_again_with_fresh_tries(
    session_factory: sessionmaker[Session], dead_letter_id: int
) -> None:
    resolve_as_ada(session_factory, replay_dead_letter, dead_letter_id)
    with session_factory() as session:
        tis = {ti.task_id: ti for ti in session.scalars(sa.select(TaskInstance))}
        assert (tis["extract"].state, tis["extract"].try_number, tis["extract"].max_tries) == (
            TaskInstanceState.NONE, 3, 6,  # three more tries: retries=2 plus the first
        )  # fmt: skip
        assert tis["extract"].end_date is None
        assert (tis["load"].state, tis["load"].max_tries) == (TaskInstanceState.NONE, 1)
        run = session.scalars(sa.select(DagRun)).one()
        assert (run.state, run.queued_at, run.end_date) == (DagRunState.QUEUED, NOW, None)
        dead_letter = session.get_one(DeadLetter, dead_letter_id)
        assert (dead_letter.state, dead_letter.resolved_at, dead_letter.resolved_by) == (
            DeadLetterState.REPLAYED, NOW, "ada",
        )  # fmt: skip
        remove = outbox_rows(session)[-1]
        assert remove.payload == {"action": "remove", "dead_letter_id": dead_letter_id}
        assert remove.dedup_key == f"dead_letter:{dead_letter_id}:remove"


def test_a_resolved_dead_letter_cannot_be_replayed_or_discarded_again(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        dead_letter_id = add_dead_letter(session).id
        replay_dead_letter(session=session, id=dead_letter_id, now=NOW, by="ada")
    with session_factory() as session:
        with pytest.raises(ConflictError, match="is replayed already"):
            replay_dead_letter(session=session, id=dead_letter_id, now=NOW, by="bob")
        with pytest.raises(ConflictError, match="is replayed already"):
            discard_dead_letter(session=session, id=dead_letter_id, now=NOW, by="bob")
        with pytest.raises(NotFoundError):
            replay_dead_letter(session=session, id=dead_letter_id + 1, now=NOW, by="bob")


def test_replay_refuses_a_task_instance_that_runs_again_already(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        dead_letter_id = add_dead_letter(session).id
        extract = session.scalars(sa.select(TaskInstance).filter_by(task_id="extract")).one()
        extract.state = TaskInstanceState.NONE
    with session_factory() as session, pytest.raises(ConflictError, match="is none, not finished"):
        replay_dead_letter(session=session, id=dead_letter_id, now=NOW, by="ada")


def test_discard_resolves_without_touching_the_task_instance(
    session_factory: sessionmaker[Session], dead_letter_id: int
) -> None:
    resolve_as_ada(session_factory, discard_dead_letter, dead_letter_id)
    with session_factory() as session:
        extract = session.scalars(sa.select(TaskInstance).filter_by(task_id="extract")).one()
        assert (extract.state, extract.max_tries) == (TaskInstanceState.FAILED, 3)
        assert session.scalars(sa.select(DagRun)).one().state == DagRunState.FAILED
        dead_letter = session.get_one(DeadLetter, dead_letter_id)
        assert (dead_letter.state, dead_letter.resolved_by) == (DeadLetterState.DISCARDED, "ada")
        assert outbox_rows(session)[-1].payload["action"] == "remove"
