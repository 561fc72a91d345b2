"""Two schedulers on one PostgreSQL database never duplicate a run or a try."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine.models import DagRun, migrate
from engine.models.session import create_db_engine, make_session_factory
from engine.scheduling.scheduler import Scheduler
from tests.engine.scheduling.conftest import START, TI, chain_dag, load, work
from tests.support.executors import RecordingExecutor
from tests.support.settings import make_settings

pytestmark = pytest.mark.postgres

HOUR = timedelta(hours=1)


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    """Engines a test opens, disposed of at its end."""
    opened: list[Engine] = []
    yield opened
    for engine in opened:
        engine.dispose()


def _sessions(url: str, engines: list[Engine]) -> sessionmaker[Session]:
    engines.append(create_db_engine(url))
    return make_session_factory(engines[-1])


def _schedulers(
    tmp_path: Path, url: str, folder: Path, engines: list[Engine]
) -> list[tuple[Scheduler, RecordingExecutor]]:
    made = []
    for _ in range(2):
        executor = RecordingExecutor()
        sessions = _sessions(url, engines)
        settings = make_settings(
            url, tmp_path / "home", dags_folder=folder, scheduler={"parallelism": 1000}
        )
        made.append(
            (
                Scheduler(
                    session_factory=sessions, executor=executor, settings=settings, parse_dags=False
                ),
                executor,
            )
        )
    return made


def _setup(tmp_path: Path, url: str, engines: list[Engine]) -> tuple[Path, sessionmaker[Session]]:
    migrate.upgrade_and_seed(url)
    folder = tmp_path / "dags"
    folder.mkdir()
    for n in range(4):
        chain_dag(folder, f"hourly{n}", tasks="'a', 'b'",
                  schedule="CronDataIntervalTimetable('@hourly')", catchup="True",
                  max_active_runs="50")  # fmt: skip
    sessions = _sessions(url, engines)
    load(sessions, folder)
    return folder, sessions


def _check(sessions: sessionmaker[Session], executors: list[RecordingExecutor]) -> None:
    with sessions() as session:
        ids = session.execute(sa.select(DagRun.dag_id, DagRun.run_id)).all()
    assert len(ids) == len(set(ids)) == 4 * 24
    jobs = Counter(job.job_id for executor in executors for job in executor.submitted)
    assert jobs
    assert max(jobs.values()) == 1, jobs.most_common(3)


def test_alternating_schedulers(tmp_path: Path, postgres_url: str, engines: list[Engine]) -> None:
    folder, sessions = _setup(tmp_path, postgres_url, engines)
    pair = _schedulers(tmp_path, postgres_url, folder, engines)
    now = START + 24 * HOUR
    for step in range(6):
        scheduler, executor = pair[step % 2]
        scheduler.tick(now)
        for job in list(executor.submitted):
            if job.task_id == "a" and step % 3 == 0:
                work(sessions, job, TI.SUCCESS, now)
        now += timedelta(seconds=1)
    _check(sessions, [executor for _, executor in pair])


def test_schedulers_in_two_threads(
    tmp_path: Path, postgres_url: str, engines: list[Engine]
) -> None:
    folder, sessions = _setup(tmp_path, postgres_url, engines)
    pair = _schedulers(tmp_path, postgres_url, folder, engines)
    errors: list[list[str]] = []
    barrier = threading.Barrier(2)

    def loop(scheduler: Scheduler) -> None:
        barrier.wait()
        for second in range(5):
            errors.append(scheduler.tick(START + 24 * HOUR + timedelta(seconds=second)).errors)

    threads = [threading.Thread(target=loop, args=(s,)) for s, _ in pair]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(not e for e in errors), errors
    _check(sessions, [executor for _, executor in pair])
