"""``core.retention_days``: the scheduler's daily clean, driven by a fixed clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.models import AuditLog, DagRun
from engine.scheduling.retention import RETENTION_ACTION
from engine.scheduling.scheduler import Scheduler
from engine.state import DagRunState
from tests.engine.scheduling.conftest import START, Rig, chain_dag
from tests.support.executors import RecordingExecutor
from tests.support.settings import make_settings

DAY = timedelta(days=1)


def _scheduler(rig: Rig, db_url: str, home: Path, **core: object) -> Scheduler:
    settings = make_settings(db_url, home, dags_folder=rig.dags_folder, core=core)
    return Scheduler(
        session_factory=rig.sessions, executor=RecordingExecutor(), settings=settings,
        parse_dags=False,
    )  # fmt: skip


def _finish(sessions: sessionmaker[Session], run_id: str, end: object) -> None:
    with sessions.begin() as session:
        session.execute(
            sa.update(DagRun)
            .where(DagRun.run_id == run_id)
            .values(state=DagRunState.SUCCESS, end_date=end)
        )


def _run_ids(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(sa.select(DagRun.run_id)))


def test_the_scheduler_cleans_once_a_day_what_is_older_than_retention_days(
    rig: Rig, db_url: str, tmp_path: Path
) -> None:
    chain_dag(rig.dags_folder, "etl", tasks="'a'")
    rig.load()
    for run_id in ("ended_day_1", "ended_day_5", "ended_day_12", "still_running"):
        rig.trigger("etl", run_id, logical_date=START + timedelta(hours=len(run_id)))
    _finish(rig.sessions, "ended_day_1", START + DAY)
    _finish(rig.sessions, "ended_day_5", START + 5 * DAY)
    _finish(rig.sessions, "ended_day_12", START + 12 * DAY)
    scheduler = _scheduler(rig, db_url, tmp_path / "home", retention_days=7)

    first = START + 14 * DAY  # cutoff: day 7
    assert scheduler.tick(first).rows_pruned > 0
    assert _run_ids(rig.sessions) == {"ended_day_12", "still_running"}

    _finish(rig.sessions, "ended_day_12", START + 7 * DAY)  # older than the next cutoff
    later_that_day = first + 23 * timedelta(hours=1)
    assert scheduler.tick(later_that_day).rows_pruned == 0  # cleaned less than a day ago
    # Another scheduler (no memory of this one's clean) reads the same from the audit log.
    other = _scheduler(rig, db_url, tmp_path / "home", retention_days=7)
    assert other.tick(later_that_day).rows_pruned == 0
    assert "ended_day_12" in _run_ids(rig.sessions)

    report = scheduler.tick(first + DAY)
    assert not report.errors
    assert report.rows_pruned > 0
    assert _run_ids(rig.sessions) == {"still_running"}  # a running run is never pruned
    with rig.sessions() as session:
        entries = session.scalars(
            sa.select(AuditLog).where(AuditLog.action == RETENTION_ACTION).order_by(AuditLog.id)
        ).all()
    assert [(e.username, e.created_at) for e in entries] == [
        ("scheduler", first),
        ("scheduler", first + DAY),
    ]
    assert entries[0].details["dag_run"] == 2


def test_retention_is_off_by_default(rig: Rig, db_url: str, tmp_path: Path) -> None:
    chain_dag(rig.dags_folder, "etl", tasks="'a'")
    rig.load()
    rig.trigger("etl", "old")
    _finish(rig.sessions, "old", START)
    scheduler = _scheduler(rig, db_url, tmp_path / "home")
    assert scheduler.tick(START + 1000 * DAY).rows_pruned == 0
    assert _run_ids(rig.sessions) == {"old"}
