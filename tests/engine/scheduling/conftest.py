"""Helpers of the scheduling tests: DAG files, a scheduler factory, a clock. The migrated
database per backend (``db_url``, ``sessions``) comes from :mod:`tests.support.fixtures`.

The executor seam is :class:`tests.support.executors.RecordingExecutor` (the ``executor``
fixture): it records what the scheduler submits and answers ``has_job`` from that record.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.executors.base import TaskJob
from engine.models import DagRun, TaskInstance
from engine.models.transitions import set_task_state
from engine.parser import refresh_dags
from engine.scheduling.scheduler import Scheduler
from engine.state import TaskInstanceState
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


def write_dag(folder: Path, name: str, body: str) -> None:
    """A DAG file ``name``.py whose body follows the usual imports."""
    header = (
        "from datetime import datetime, timedelta, timezone\n"
        "from engine import DAG, EmptyOperator, BranchPythonOperator, chain\n"
    )
    (folder / f"{name}.py").write_text(header + textwrap.dedent(body))


def load(sessions: sessionmaker[Session], folder: Path, now: datetime = START) -> None:
    with sessions.begin() as session:
        report = refresh_dags(
            session=session, dags_folder=folder, timeout=30, parallelism=2, now=now
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
