"""The models on a real (SQLite) database created by the migrations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from engine.errors import IllegalTransitionError
from engine.models import (
    Dag,
    DagRun,
    DagRunType,
    TaskAttempt,
    TaskInstance,
    migrate,
)
from engine.models.session import create_db_engine, make_session_factory
from engine.priority import PriorityClass
from engine.state import DagRunState, TaskInstanceState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def session(sqlite_url: str) -> Iterator[Session]:
    migrate.upgrade(sqlite_url)
    db = create_db_engine(sqlite_url)
    with make_session_factory(db)() as session:
        yield session
    db.dispose()


def add_run(session: Session, *, run_id: str = "r1", dag_id: str = "d1") -> DagRun:
    if session.get(Dag, dag_id) is None:
        session.add(Dag(dag_id=dag_id, fileloc="/dags/d1.py"))
    run = DagRun(dag_id=dag_id, run_id=run_id, logical_date=T0, run_type=DagRunType.MANUAL)
    session.add(run)
    session.flush()
    return run


def add_ti(session: Session, run: DagRun, task_id: str = "t1") -> TaskInstance:
    ti = TaskInstance(dag_run=run, dag_id=run.dag_id, run_id=run.run_id, task_id=task_id)
    session.add(ti)
    session.flush()
    return ti


def test_utc_datetime_round_trips_tz_aware_on_sqlite(session: Session) -> None:
    plus_two = timezone(timedelta(hours=2))
    session.add(
        Dag(dag_id="d1", fileloc="f", last_parsed_at=datetime(2026, 3, 1, 12, tzinfo=plus_two))
    )
    session.commit()
    session.expunge_all()

    dag = session.get_one(Dag, "d1")
    assert dag.last_parsed_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert dag.last_parsed_at.tzinfo is UTC
    assert dag.created_at.tzinfo is UTC
    stored = session.execute(sa.text("SELECT last_parsed_at FROM dag")).scalar_one()
    assert str(stored).startswith("2026-03-01 10:00:00")


def test_utc_datetime_refuses_naive(session: Session) -> None:
    session.add(Dag(dag_id="d1", fileloc="f", last_parsed_at=datetime(2026, 3, 1, 12)))
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_utc_datetime_compares_in_queries(session: Session) -> None:
    add_run(session)
    later = T0.astimezone(timezone(timedelta(hours=-5))) + timedelta(seconds=1)
    assert session.scalars(sa.select(DagRun).where(DagRun.logical_date < later)).one()


def test_defaults_and_enums_come_back_typed(session: Session) -> None:
    ti = add_ti(session, add_run(session))
    session.commit()
    session.expunge_all()

    loaded = session.get_one(TaskInstance, ti.id)
    assert loaded.state is TaskInstanceState.NONE
    assert loaded.priority_class is PriorityClass.DEFAULT
    assert loaded.pool == "default_pool"
    assert (loaded.try_number, loaded.pool_slots) == (0, 1)
    assert loaded.dag_run.state is DagRunState.QUEUED
    assert loaded.dag_run.run_type is DagRunType.MANUAL
    assert loaded.dag_run.conf == {}


def test_queue_defaults_to_the_queue_of_the_priority_class(session: Session) -> None:
    run = add_run(session)
    default = add_ti(session, run)
    high = TaskInstance(
        dag_run=run, dag_id=run.dag_id, run_id=run.run_id, task_id="t2", priority_class="high"
    )
    session.add(high)
    session.flush()
    assert (default.queue, high.queue) == ("loom.default", "loom.high")


def test_dag_id_run_id_is_unique(session: Session) -> None:
    add_run(session, run_id="r1")
    with pytest.raises(IntegrityError):
        add_run(session, run_id="r1")


def test_task_instance_key_is_unique(session: Session) -> None:
    run = add_run(session)
    add_ti(session, run, "t1")
    with pytest.raises(IntegrityError):
        add_ti(session, run, "t1")


def test_orm_refuses_illegal_task_state_change(session: Session) -> None:
    ti = add_ti(session, add_run(session))
    with pytest.raises(IllegalTransitionError, match="from none to running"):
        ti.state = TaskInstanceState.RUNNING
    ti.state = TaskInstanceState.SCHEDULED
    assert ti.state is TaskInstanceState.SCHEDULED


def test_orm_refuses_illegal_change_of_an_expired_object(session: Session) -> None:
    ti = add_ti(session, add_run(session))
    session.commit()
    session.expire(ti)
    with pytest.raises(IllegalTransitionError):
        ti.state = TaskInstanceState.RUNNING


def test_orm_refuses_illegal_run_state_change(session: Session) -> None:
    run = add_run(session)
    run.state = DagRunState.SUCCESS
    session.flush()
    with pytest.raises(IllegalTransitionError, match="from success to running"):
        run.state = DagRunState.RUNNING


def test_fresh_object_may_start_in_any_state(session: Session) -> None:
    run = add_run(session)
    ti = TaskInstance(
        dag_run=run, dag_id="d1", run_id="r1", task_id="t1", state=TaskInstanceState.RUNNING
    )
    session.add(ti)
    session.flush()
    ti.state = TaskInstanceState.RUNNING  # the same state again is no move
    assert ti.state is TaskInstanceState.RUNNING


def test_deleting_a_run_deletes_its_task_instances_and_attempts(session: Session) -> None:
    run = add_run(session)
    ti = add_ti(session, run)
    session.add(TaskAttempt(task_instance_id=ti.id, try_number=1, state="failed"))
    session.commit()
    session.execute(sa.delete(DagRun).where(DagRun.id == run.id))
    assert session.scalar(sa.select(sa.func.count()).select_from(TaskInstance)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(TaskAttempt)) == 0


def test_sqlite_connections_enforce_foreign_keys(sqlite_url: str) -> None:
    db = create_db_engine(sqlite_url)
    with db.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    db.dispose()
