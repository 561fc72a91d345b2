"""A migrated database (SQLite and PostgreSQL), a parsed DAG folder, runs, queued tries."""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.models import DagRun, DagRunType, TaskAttempt, TaskInstance, XCom
from engine.models.transitions import set_task_state
from engine.parser import ParseOptions, refresh_dags
from engine.services.dagversions import latest_dag_version
from engine.services.runs import create_dag_run
from engine.state import DagRunState, TaskInstanceState
from tests.support.executors import RecordingExecutor
from workers import RunnerContext, RunnerSettings, run_task

DAG_FILES = Path(__file__).resolve().parent / "dagfiles"
T0 = datetime(2026, 1, 5, tzinfo=UTC)
TI = TaskInstanceState

Sessions = sessionmaker[Session]


@pytest.fixture
def pokes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file the counting sensors of ``dagfiles/sensors.py`` keep their pokes in."""
    path = tmp_path / "pokes"
    monkeypatch.setenv("SENSOR_POKES_FILE", str(path))
    return path


def holding(folder: Path, sessions: Sessions, dag_file: str) -> Path:
    """``folder`` with ``dagfiles/<dag_file>`` copied in, parsed into the database."""
    shutil.copy(DAG_FILES / dag_file, folder / dag_file)
    refresh(sessions, folder)
    return folder


def folder_holding(dag_file: str) -> Any:
    """The ``dags_folder`` fixture of tests that run ``dagfiles/<dag_file>``: the test's
    DAG folder holding that file, parsed into the database."""

    @pytest.fixture
    def dags_folder(dags_folder: Path, sessions: Sessions) -> Path:
        return holding(dags_folder, sessions, dag_file)

    return dags_folder


dags_folder = folder_holding("work.py")  # what tests/workers/ run unless a module says otherwise


def refresh(sessions: Sessions, folder: Path) -> None:
    with sessions.begin() as session:
        refresh_dags(
            session=session, options=ParseOptions(folder, timeout=60, parallelism=2), now=T0
        )


@pytest.fixture
def ctx(sessions: Sessions, dags_folder: Path, executor: RecordingExecutor) -> RunnerContext:
    return RunnerContext(
        session_factory=sessions,
        executor=executor,
        settings=RunnerSettings(
            max_log_bytes=64 * 1024,
            max_xcom_bytes=1024,
            heartbeat_interval=timedelta(seconds=0.05),
            dags_folder=dags_folder,
        ),
        hostname="worker-1",
        pid=4242,
        rng=random.Random(7),
    )


def create_run(sessions: Sessions, dag_id: str = "work", run_id: str = "manual__1") -> int:
    """A running dag run of ``dag_id`` with all its task instances in ``none``; its pk."""
    with sessions.begin() as session:
        dag, version_id = latest_dag_version(session=session, dag_id=dag_id)
        run = create_dag_run(
            session=session,
            dag=dag,
            dag_version_id=version_id,
            run_id=run_id,
            run_type=DagRunType.MANUAL,
            logical_date=T0,
            data_interval=dag.schedule.infer_manual_data_interval(run_after=T0),
            conf={},
            run_after=T0,
            now=T0,
        )
        run.state = DagRunState.RUNNING
        return run.id


def ti_id_of(sessions: Sessions, task_id: str, run_pk: int) -> int:
    with sessions() as session:
        stmt = sa.select(TaskInstance.id).where(
            TaskInstance.dag_run_id == run_pk, TaskInstance.task_id == task_id
        )
        return session.scalars(stmt).one()


def the_run(sessions: Sessions, dag_id: str) -> int:
    """The pk of the run there is (the first), else of a new run of ``dag_id``."""
    with sessions() as session:
        pk = session.scalar(sa.select(DagRun.id).order_by(DagRun.id).limit(1))
    return pk if pk is not None else create_run(sessions, dag_id=dag_id)


def run_first_try(
    sessions: Sessions, ctx: RunnerContext, task_id: str, run_pk: int
) -> tuple[TaskInstanceState | None, int]:
    """Queue ``task_id``'s first try in the run ``run_pk`` and run it as a worker does: the
    state it ends in, and the task instance's id."""
    ti_id = ti_id_of(sessions, task_id, run_pk)
    return run_task(ti_id, queue_try(sessions, ti_id), ctx=ctx), ti_id


def queue_try(sessions: Sessions, ti_id: int) -> int:
    """Move the task instance to ``queued`` with a new try, as the scheduler does; its try."""
    with sessions.begin() as session:
        ti = session.get_one(TaskInstance, ti_id)
        for expected, new, increment in (
            (ti.state, TI.SCHEDULED, False),
            (TI.SCHEDULED, TI.QUEUED, True),
        ):
            assert set_task_state(
                session=session,
                ti_id=ti_id,
                expected=expected,
                new=new,
                try_number=ti.try_number,
                increment_try=increment,
            )
        session.refresh(ti)
        return ti.try_number


def queued(sessions: Sessions, task_id: str, run_id: str = "manual__1") -> tuple[int, int]:
    """A new run (unless ``run_id`` exists) and ``task_id``'s first try queued: (ti_id, try)."""
    with sessions() as session:
        pk = session.scalar(sa.select(DagRun.id).where(DagRun.run_id == run_id))
    run_pk = pk if pk is not None else create_run(sessions, run_id=run_id)
    ti_id = ti_id_of(sessions, task_id, run_pk)
    return ti_id, queue_try(sessions, ti_id)


def load_ti(sessions: Sessions, ti_id: int) -> TaskInstance:
    with sessions() as session:
        return session.get_one(TaskInstance, ti_id)


def attempts(sessions: Sessions, ti_id: int) -> list[TaskAttempt]:
    with sessions() as session:
        stmt = (
            sa.select(TaskAttempt)
            .where(TaskAttempt.task_instance_id == ti_id)
            .order_by(TaskAttempt.try_number)
        )
        return list(session.scalars(stmt))


def states(sessions: Sessions, dag_id: str | None = None) -> dict[str, TI]:
    """Each task instance's state by its task id (of ``dag_id``'s, when given)."""
    stmt = sa.select(TaskInstance.task_id, TaskInstance.state)
    if dag_id is not None:
        stmt = stmt.where(TaskInstance.dag_id == dag_id)
    with sessions() as session:
        return dict(session.execute(stmt).all())


@dataclass(frozen=True)
class Finish:
    """What the finish of ``task_id``'s first try, a success, does at once: the tasks
    ``then`` names are in those states and ``queued`` are the tasks it submitted."""

    task_id: str
    then: dict[str, TI]
    queued: list[str]

    def check(
        self, sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor, run_pk: int
    ) -> None:
        assert run_first_try(sessions, ctx, self.task_id, run_pk)[0] is TI.SUCCESS
        got = states(sessions)
        assert {task: got[task] for task in self.then} == self.then
        assert [job.task_id for job in executor.submitted] == self.queued


def xcoms(sessions: Sessions, task_id: str) -> dict[str, Any]:
    with sessions() as session:
        rows = session.scalars(sa.select(XCom).where(XCom.task_id == task_id))
        return {row.key: row.value for row in rows}
