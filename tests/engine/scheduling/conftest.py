"""Helpers of the scheduling tests: DAG files, a scheduler factory, a clock. The migrated
database per backend (``db_url``, ``sessions``) comes from :mod:`tests.support.fixtures`.

The executor seam is :class:`tests.support.executors.RecordingExecutor` (the ``executor``
fixture): it records what the scheduler submits and answers ``has_job`` from that record.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.executors.base import TaskJob
from engine.models import DagRun, TaskInstance
from engine.models.transitions import set_task_state
from engine.parser import ParseOptions, refresh_dags
from engine.scheduling.scheduler import Scheduler
from engine.services.runs import trigger_dag
from engine.state import TaskInstanceState
from tests.support.dagfiles import WORKER_EMPTY_OPERATOR
from tests.support.executors import RecordingExecutor
from tests.support.settings import make_settings

TI = TaskInstanceState
START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def make_scheduler(
    tmp_path: Path,
    db_url: str,
    dags_folder: Path,
    sessions: sessionmaker[Session],
    executor: RecordingExecutor,
) -> Any:
    def make(**scheduler: Any) -> Scheduler:
        settings = make_settings(
            db_url, tmp_path / "home", dags_folder=dags_folder, scheduler=scheduler
        )
        return Scheduler(
            session_factory=sessions, executor=executor, settings=settings, parse_dags=False
        )

    return make


@dataclass(frozen=True)
class Rig:
    """What a scheduling test drives: the database, the DAG folder, the executor that
    records submissions, and schedulers over them."""

    sessions: sessionmaker[Session]
    dags_folder: Path
    executor: RecordingExecutor
    scheduler: Callable[..., Scheduler]
    """A scheduler with these scheduler settings (``tick_interval="1s"``...)."""

    def manual_dag(self, dag_id: str, tasks: str, *, args: str = "", prelude: str = "") -> None:
        """A DAG file ``dag_id`` of these ``tasks`` (statements), triggered by hand only;
        ``args`` are more ``DAG(...)`` arguments, ``prelude`` statements before the DAG."""
        more = f", {args}" if args else ""
        opening = f"with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1){more})"
        header = (f"{prelude}\n" if prelude else "") + f"{opening} as dag:\n"
        write_dag(
            self.dags_folder, dag_id, header + textwrap.indent(textwrap.dedent(tasks), "    ")
        )

    def load(self, now: datetime = START) -> None:
        """Parse the DAG folder into the database."""
        load(self.sessions, self.dags_folder, now)

    def trigger(self, dag_id: str, run_id: str = "r", logical_date: datetime | None = None) -> None:
        """A manual run of ``dag_id``, made at ``START`` (logical date: then, by default)."""
        with self.sessions.begin() as session:
            trigger_dag(
                session=session, dag_id=dag_id, run_id=run_id, logical_date=logical_date,
                now=START,
            )  # fmt: skip

    def first_tick(self, dag_id: str, **scheduler_settings: Any) -> Scheduler:
        """Parse the folder, trigger run ``r`` of ``dag_id`` and tick once at ``START`` with
        a scheduler of these settings; the scheduler, for the test's next ticks."""
        self.load()
        self.trigger(dag_id)
        scheduler = self.scheduler(**scheduler_settings)
        scheduler.tick(START)
        return scheduler

    def runs(self, dag_id: str) -> list[DagRun]:
        return runs(self.sessions, dag_id)

    def states(self, dag_id: str, run_id: str | None = None) -> dict[str, TI]:
        return states(self.sessions, dag_id, run_id)

    def work(self, job: TaskJob, outcome: TI, now: datetime, **values: Any) -> None:
        """What a worker does with ``job``: claim it, then finish it as ``outcome``."""
        work(self.sessions, job, outcome, now, **values)


@pytest.fixture
def rig(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    executor: RecordingExecutor,
    make_scheduler: Callable[..., Scheduler],
) -> Rig:
    return Rig(sessions, dags_folder, executor, make_scheduler)


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
    dags_folder: Path,
    sessions: sessionmaker[Session],
    cli_dags: None,
) -> sessionmaker[Session]:
    """The CLI pointed at this test's database and DAG folder, whose files the test
    module's ``cli_dags`` fixture writes, parsed."""
    monkeypatch.setenv("LOOM__DATABASE__URL", db_url)
    monkeypatch.setenv("LOOM__CORE__DAGS_FOLDER", str(dags_folder))
    load(sessions, dags_folder)
    return sessions


def write_dag(folder: Path, name: str, body: str) -> None:
    """A DAG file ``name``.py whose body follows the usual imports."""
    header = (
        "from datetime import datetime, timedelta, timezone\n"
        "from engine import DAG, EmptyOperator, BranchPythonOperator, chain\n"
        "from engine import CronDataIntervalTimetable, CronTriggerTimetable\n"
        + WORKER_EMPTY_OPERATOR
    )
    (folder / f"{name}.py").write_text(header + textwrap.dedent(body))


def load(sessions: sessionmaker[Session], folder: Path, now: datetime = START) -> None:
    with sessions.begin() as session:
        report = refresh_dags(
            session=session, options=ParseOptions(folder, timeout=30, parallelism=2), now=now
        )
    assert not report.import_errors, report.import_errors


def chain_dag(folder: Path, dag_id: str = "chain", tasks: str = "'a', 'b', 'c'", **kw: str) -> None:
    args = {"schedule": "None", "start_date": "datetime(2026, 1, 1)", "catchup": "False"} | kw
    settings = ", ".join(f"{k}={v}" for k, v in args.items())
    write_dag(
        folder,
        dag_id,
        f"""
        with DAG({dag_id!r}, {settings}) as dag:
            chain(*[EmptyOperator(task_id=t) for t in [{tasks}]])
        """,
    )


def runs(sessions: sessionmaker[Session], dag_id: str) -> list[DagRun]:
    with sessions() as session:
        stmt = sa.select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.logical_date)
        return list(session.scalars(stmt))


def states(
    sessions: sessionmaker[Session], dag_id: str, run_id: str | None = None
) -> dict[str, TI]:
    with sessions() as session:
        stmt = sa.select(TaskInstance).where(TaskInstance.dag_id == dag_id)
        if run_id is not None:
            stmt = stmt.where(TaskInstance.run_id == run_id)
        return {ti.task_id: ti.state for ti in session.scalars(stmt)}


def ti_of(sessions: sessionmaker[Session], dag_id: str, task_id: str) -> TaskInstance:
    with sessions() as session:
        stmt = sa.select(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id
        )
        return session.scalars(stmt).one()


def work(
    sessions: sessionmaker[Session], job: TaskJob, outcome: TI, now: datetime, **values: Any
) -> None:
    """What a worker does with ``job``: claim it, then finish it as ``outcome``."""
    with sessions.begin() as session:
        claimed = set_task_state(
            session=session, ti_id=job.ti_id, expected=TI.QUEUED, new=TI.RUNNING,
            try_number=job.try_number, start_date=now, last_heartbeat_at=now,
        )  # fmt: skip
        assert claimed, job
        if outcome is not TI.RUNNING:
            assert set_task_state(
                session=session, ti_id=job.ti_id, expected=TI.RUNNING, new=outcome,
                try_number=job.try_number, end_date=now, **values,
            )  # fmt: skip
