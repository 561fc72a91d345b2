"""Deadline misses fire once: across repeated ticks, and with two schedulers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.models import OutboxKind, OutboxMessage
from engine.scheduling.scheduler import Scheduler
from engine.services.runs import trigger_dag
from engine.services.taskchanges import clear_task_instances
from tests.engine.notifications.conftest import Sessions
from tests.engine.scheduling.conftest import START, TI, load, work, write_dag
from tests.support.executors import RecordingExecutor
from tests.support.settings import make_settings

pytestmark = pytest.mark.postgres
MIN = timedelta(minutes=1)

DAG_BODY = """
with DAG('late', schedule=None, start_date=datetime(2026, 1, 1), deadline=timedelta(minutes=8),
         notify='ops') as dag:
    quick = EmptyOperator(task_id='quick', deadline=timedelta(minutes=5))
    slow = EmptyOperator(task_id='slow', deadline=timedelta(minutes=5))
    later = EmptyOperator(task_id='later', deadline=timedelta(minutes=30))
    quick >> slow >> later
"""


def missed(sessions: Sessions) -> list[tuple[str, str | None]]:
    with sessions() as session:
        rows = session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.kind == OutboxKind.NOTIFICATION)
            .order_by(OutboxMessage.id)
        )
        events = [row.payload["event"] for row in rows]
    return [
        (e["event_type"], e["task_id"])
        for e in events
        if e["event_type"].endswith("deadline_missed")
    ]


@pytest.fixture
def schedulers(
    postgres_url: str,
    sessions: Sessions,
    tmp_path: Path,
    dags_folder: Path,
    executor: RecordingExecutor,
) -> list[Scheduler]:
    """Two schedulers on one database, sharing ``executor``."""
    write_dag(dags_folder, "late", DAG_BODY)
    load(sessions, dags_folder)
    settings = make_settings(postgres_url, tmp_path / "home", dags_folder=dags_folder)

    def make() -> Scheduler:
        return Scheduler(
            session_factory=sessions,
            executor=executor,
            settings=settings,
            parse_dags=False,
            clock=lambda: START,
        )

    return [make(), make()]


def test_a_deadline_miss_fires_once(
    sessions: Sessions, schedulers: list[Scheduler], executor: RecordingExecutor
) -> None:
    first, second = schedulers
    with sessions.begin() as session:
        trigger_dag(session=session, dag_id="late", run_id="r", now=START)
    report = first.tick(START)  # the run starts at START; quick is queued
    assert report.queued == 1
    work(sessions, executor.submitted[0], TI.SUCCESS, START + MIN)  # before its deadline
    assert first.tick(START + 4 * MIN).deadlines_missed == 0

    assert first.tick(START + 6 * MIN).deadlines_missed == 1  # slow, 5 minutes
    assert second.tick(START + 6 * MIN).deadlines_missed == 0
    assert first.tick(START + 9 * MIN).deadlines_missed == 1  # the run, 8 minutes
    for scheduler in (first, second, first):
        assert scheduler.tick(START + 20 * MIN).deadlines_missed == 0
    assert missed(sessions) == [("task.deadline_missed", "slow"), ("dag_run.deadline_missed", None)]

    with sessions.begin() as session:  # a cleared run starts again: new deadlines
        clear_task_instances(session=session, dag_id="late", run_id="r", now=START + 21 * MIN)
    first.tick(START + 21 * MIN)
    assert first.tick(START + 40 * MIN).deadlines_missed == 3  # quick, slow and the run
    assert first.tick(START + 41 * MIN).deadlines_missed == 0
    assert first.tick(START + 52 * MIN).deadlines_missed == 1  # later: 30 minutes
