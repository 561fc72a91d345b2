"""A mapped DAG and a harness that runs it to the end in this process: the scheduler
ticks, each submitted try runs as a worker would run it (tests of mapping at every edge)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.models import TaskInstance, XCom
from engine.parser import ParseOptions, refresh_dags
from engine.scheduling.scheduler import Scheduler
from engine.services.runs import trigger_dag
from engine.state import DagRunState, TaskInstanceState
from engine.timeutil import utcnow
from tests.support.executors import RecordingExecutor
from tests.support.settings import make_settings
from workers import RunnerContext, RunnerSettings, run_task

TI = TaskInstanceState
Sessions = sessionmaker[Session]

DAG_FILE = textwrap.dedent(
    """
    from datetime import datetime, timedelta
    from engine import DAG, task, BashOperator

    with DAG("mapping", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        @task
        def make():
            return {{MAKE}}

        @task
        def add(x, y):
            return x + y

        @task(retries={{RETRIES}}, retry_delay=timedelta(0))
        def double(v, ti):
            if v == 13 and {{FLAKY}} and ti.try_number == 1:
                raise ValueError("thirteen")
            return v * 2

        @task(trigger_rule="{{RULE}}")
        def total(values):
            return [len(values), list(values), values[0]]

        sums = add.partial(y=10).expand(x=make())
        total(double.expand(v=sums))
        add.expand(x=[2, 4, 8], y=[5, 10])
    """
)


MAPPING_DEFAULTS = {"MAKE": "[1, 2, 3]", "RETRIES": 0, "FLAKY": False, "RULE": "all_success"}


def write_dag(
    folder: Path, *, template: str = DAG_FILE, defaults: dict[str, Any] | None = None, **values: Any
) -> None:
    """Write the DAG ``template`` (the mapping DAG by default) with ``{{KEY}}`` filled."""
    text = template
    defaults = MAPPING_DEFAULTS if defaults is None else defaults
    for key, value in {**defaults, **values}.items():
        text = text.replace("{{" + key + "}}", str(value))
    (folder / "mapping.py").write_text(text)


class Harness:
    def __init__(self, sessions: Sessions, folder: Path, url: str, home: Path, **core: Any):
        self.sessions = sessions
        settings = make_settings(url, home, dags_folder=folder, core=core or None)
        self.executor = RecordingExecutor()
        self.scheduler = Scheduler(
            session_factory=sessions, executor=self.executor, settings=settings, parse_dags=False
        )
        self.worker = RunnerContext(
            session_factory=sessions,
            executor=None,
            settings=RunnerSettings.from_settings(settings),
            hostname="worker-1",
        )
        with sessions.begin() as session:
            refresh_dags(
                session=session,
                options=ParseOptions(folder, timeout=30, parallelism=1),
                now=utcnow(),
            )
            trigger_dag(session=session, dag_id="mapping", run_id="r", now=utcnow())

    def run_until_done(self, limit: int = 20) -> DagRunState | None:
        done = 0
        for _ in range(limit):
            self.scheduler.tick(utcnow())
            jobs = self.executor.submitted[done:]
            done = len(self.executor.submitted)
            for job in jobs:
                run_task(job.ti_id, job.try_number, ctx=self.worker)
            if not jobs and self.run_state() in (DagRunState.SUCCESS, DagRunState.FAILED):
                return self.run_state()
        return self.run_state()

    def run_state(self) -> DagRunState:
        from engine.models import DagRun

        with self.sessions() as session:
            return session.scalars(
                sa.select(DagRun.state).filter_by(dag_id="mapping", run_id="r")
            ).one()

    def instances(self, task_id: str) -> list[tuple[int, TaskInstanceState, int]]:
        with self.sessions() as session:
            rows = session.execute(
                sa.select(TaskInstance.map_index, TaskInstance.state, TaskInstance.try_number)
                .where(TaskInstance.task_id == task_id)
                .order_by(TaskInstance.map_index)
            )
            return [tuple(row) for row in rows]  # type: ignore[misc]

    def value(self, task_id: str, map_index: int = -1) -> Any:
        with self.sessions() as session:
            return session.scalar(
                sa.select(XCom.value).where(
                    XCom.task_id == task_id,
                    XCom.map_index == map_index,
                    XCom.key == "return_value",
                )
            )
