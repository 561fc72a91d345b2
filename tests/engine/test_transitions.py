"""Compare-and-set state changes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import IllegalTransitionError
from engine.models import Dag, DagRun, DagRunType, TaskInstance, migrate
from engine.models.changes import DagRunChange
from engine.models.session import create_db_engine, make_session_factory
from engine.models.transitions import set_run_state, set_task_state, set_task_states
from engine.state import DagRunState, TaskInstanceState

TI = TaskInstanceState
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def factory(request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    url: str = request.getfixturevalue(f"{request.param}_url")
    migrate.upgrade(url)
    db = create_db_engine(url)
    yield make_session_factory(db)
    db.dispose()


@pytest.fixture
def ids(factory: sessionmaker[Session]) -> tuple[int, int]:
    """(dag run id, task instance id) of a queued run with one queued task at try 1."""
    with factory.begin() as session:
        session.add(Dag(dag_id="d1", fileloc="/dags/d1.py"))
        run = DagRun(dag_id="d1", run_id="r1", logical_date=T0, run_type=DagRunType.MANUAL)
        ti = TaskInstance(
            dag_run=run, dag_id="d1", run_id="r1", task_id="t1", state=TI.QUEUED, try_number=1
        )
        session.add_all([run, ti])
        session.flush()
        return run.id, ti.id


def ti_row(factory: sessionmaker[Session], ti_id: int) -> TaskInstance:
    with factory() as session:
        return session.get_one(TaskInstance, ti_id)


def claim(session: Session, ti_id: int, **values: Any) -> bool:
    """The claim of the queued try 1: ``queued -> running``."""
    return set_task_state(
        session=session, ti_id=ti_id, expected=TI.QUEUED, new=TI.RUNNING, try_number=1, **values
    )


def test_task_cas_succeeds_once(factory: sessionmaker[Session], ids: tuple[int, int]) -> None:
    _, ti_id = ids
    with factory.begin() as session:
        assert claim(session, ti_id, hostname="w1", pid=42, start_date=T0)
    with factory.begin() as session:
        assert not claim(session, ti_id, hostname="w2")

    row = ti_row(factory, ti_id)
    assert (row.state, row.hostname, row.pid, row.start_date) == (TI.RUNNING, "w1", 42, T0)


def test_task_cas_with_wrong_try_number_changes_nothing(
    factory: sessionmaker[Session], ids: tuple[int, int]
) -> None:
    _, ti_id = ids
    with factory.begin() as session:
        assert not set_task_state(
            session=session, ti_id=ti_id, expected=TI.QUEUED, new=TI.RUNNING, try_number=2
        )
    assert ti_row(factory, ti_id).state is TI.QUEUED


def test_task_cas_refuses_an_illegal_transition(
    factory: sessionmaker[Session], ids: tuple[int, int]
) -> None:
    _, ti_id = ids
    with factory.begin() as session, pytest.raises(IllegalTransitionError):
        set_task_state(
            session=session, ti_id=ti_id, expected=TI.QUEUED, new=TI.UPSTREAM_FAILED, try_number=1
        )
    assert ti_row(factory, ti_id).state is TI.QUEUED


def test_task_cas_can_start_a_new_try(factory: sessionmaker[Session], ids: tuple[int, int]) -> None:
    _, ti_id = ids
    with factory.begin() as session:
        assert set_task_state(
            session=session, ti_id=ti_id, expected=TI.QUEUED, new=TI.UP_FOR_RETRY, try_number=1
        )
        assert set_task_state(
            session=session, ti_id=ti_id, expected=TI.UP_FOR_RETRY, new=TI.SCHEDULED, try_number=1,
            increment_try=True,
        )  # fmt: skip
    row = ti_row(factory, ti_id)
    assert (row.state, row.try_number) == (TI.SCHEDULED, 2)


def test_task_cas_keeps_loaded_objects_in_step(
    factory: sessionmaker[Session], ids: tuple[int, int]
) -> None:
    _, ti_id = ids
    with factory.begin() as session:
        ti = session.get_one(TaskInstance, ti_id)
        claim(session, ti_id, hostname="w1")
        assert (ti.state, ti.hostname) == (TI.RUNNING, "w1")
        ti.state = TI.SUCCESS  # the ORM check sees the new state, so this move is legal


def test_task_cas_refuses_unknown_or_protected_columns(
    factory: sessionmaker[Session], ids: tuple[int, int]
) -> None:
    _, ti_id = ids
    with factory.begin() as session:
        bad_values: list[dict[str, Any]] = [{"nonsense": 1}, {"id": 5}]
        for bad in bad_values:
            with pytest.raises(TypeError):
                claim(session, ti_id, **bad)


def test_task_cas_logs_the_transition(
    factory: sessionmaker[Session], ids: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, ti_id = ids
    with (
        caplog.at_level(logging.INFO, logger="engine.models.transitions"),
        factory.begin() as session,
    ):
        claim(session, ti_id)
    assert [r.getMessage() for r in caplog.records] == [
        f"task instance {ti_id} (d1.r1.t1 try 1): queued -> running"
    ]


def test_run_cas(factory: sessionmaker[Session], ids: tuple[int, int]) -> None:
    run_pk, _ = ids
    kwargs: dict[str, Any] = {
        "run_id_pk": run_pk,
        "expected": DagRunState.QUEUED,
        "new": DagRunState.RUNNING,
    }
    with factory.begin() as session:
        assert set_run_state(session=session, start_date=T0, **kwargs)
        assert not set_run_state(session=session, **kwargs)
        with pytest.raises(IllegalTransitionError):
            set_run_state(
                session=session,
                run_id_pk=run_pk,
                expected=DagRunState.RUNNING,
                new=DagRunState.RUNNING,
            )
    with factory() as session:
        run = session.get_one(DagRun, run_pk)
        assert (run.state, run.start_date) == (DagRunState.RUNNING, T0)


def test_cas_does_not_commit(factory: sessionmaker[Session], ids: tuple[int, int]) -> None:
    _, ti_id = ids
    with factory() as session:
        claim(session, ti_id)
        session.rollback()
    with factory() as session:
        state = session.scalar(sa.select(TaskInstance.state).where(TaskInstance.id == ti_id))
    assert state is TI.QUEUED


def test_many_task_cas_moves_each_row_still_at_its_try(
    factory: sessionmaker[Session], ids: tuple[int, int]
) -> None:
    run_id, queued = ids
    with factory.begin() as session:
        waiting = [
            TaskInstance(dag_run_id=run_id, dag_id="d1", run_id="r1", task_id=f"w{i}",
                         state=TI.NONE, try_number=try_number)
            for i, try_number in enumerate((0, 0, 2, 0))
        ]  # fmt: skip
        session.add_all(waiting)
        session.flush()
        rows = [ti.id for ti in waiting]
    moves = [(rows[0], 0), (rows[1], 0), (rows[2], 2), (rows[3], 1), (queued, 1)]
    notes = _notes(factory)

    with factory.begin() as session:
        won = set_task_states(
            session=session, moves=moves, expected=TI.NONE, new=TI.SCHEDULED, scheduled_at=T0
        )

    # w3 is at try 0, not 1; the queued one is not in ``none``: both left alone
    assert won == {rows[0], rows[1], rows[2]}
    assert [ti_row(factory, i).state for i in rows] == [TI.SCHEDULED] * 3 + [TI.NONE]
    assert ti_row(factory, queued).state is TI.QUEUED
    assert _notes(factory) == notes + 3  # the run noted for the tick, once per moved row
    with factory.begin() as session, pytest.raises(IllegalTransitionError):
        set_task_states(session=session, moves=moves, expected=TI.NONE, new=TI.RUNNING)


def _notes(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(DagRunChange)) or 0
