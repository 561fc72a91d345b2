"""Workers' and notifiers' own heartbeats (``process_heartbeat``): the thread that writes
them, what forgets the silent ones, and how the home page reads them."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.config.schema import DatabaseSettings
from engine.delivery.notifications import build_notifier
from engine.models import Dag, DagRun, DagRunType, ProcessHeartbeat, ProcessKind, TaskInstance
from engine.models.session import create_db_engine, make_session_factory
from engine.runtime.heartbeat import HeartbeatSettings, run_notifier
from engine.runtime.heartbeat import ProcessHeartbeat as Beat
from engine.scheduling.heartbeats import (
    FORGET_AFTER,
    forget_silent_processes,
    process_id,
    record_process_heartbeat,
)
from engine.services.dashboard import Thresholds, liveness, process_liveness, worker_liveness
from engine.state import TaskInstanceState
from tests.support.settings import make_settings

T0 = datetime(2026, 1, 2, 12, tzinfo=UTC)
FAST = HeartbeatSettings(interval=timedelta(milliseconds=50), forget_dead_here=True)
THRESHOLD = timedelta(seconds=60)


def rows(sessions: sessionmaker[Session]) -> dict[tuple[str, str], datetime]:
    with sessions() as session:
        found = session.execute(
            sa.select(
                ProcessHeartbeat.process_id,
                ProcessHeartbeat.kind,
                ProcessHeartbeat.last_heartbeat_at,
            )
        )
        return {(key, kind): beat for key, kind, beat in found}


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def beat(sessions: sessionmaker[Session], kind: ProcessKind, key: str, at: datetime) -> None:
    with sessions.begin() as session:
        record_process_heartbeat(session=session, kind=kind, now=at, id=key)


def test_a_heartbeat_writes_on_start_refreshes_and_is_removed_on_a_clean_stop(
    sessions: sessionmaker[Session],
) -> None:
    mine = (process_id(), "worker")
    with Beat(ProcessKind.WORKER, FAST, sessions) as beating:
        first = rows(sessions)[mine]  # written before the block runs
        wait_until(lambda: rows(sessions)[mine] > first)
        assert beating.failures == 0
    assert rows(sessions) == {}
    with sessions() as session:
        row = session.scalars(sa.select(ProcessHeartbeat)).one_or_none()
    assert row is None


def test_a_process_of_each_kind_has_its_own_row(sessions: sessionmaker[Session]) -> None:
    beat(sessions, ProcessKind.WORKER, "h:1", T0)
    beat(sessions, ProcessKind.NOTIFIER, "h:1", T0)
    beat(sessions, ProcessKind.WORKER, "h:1", T0 + timedelta(seconds=5))
    assert rows(sessions) == {
        ("h:1", "worker"): T0 + timedelta(seconds=5),
        ("h:1", "notifier"): T0,
    }
    with sessions() as session:
        row = session.get_one(ProcessHeartbeat, ("h:1", "worker"))
        assert (row.hostname, row.pid, row.started_at) == ("h", 1, T0)


def test_a_database_that_is_down_never_ends_the_heartbeat(tmp_path: Path) -> None:
    gone = create_db_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    with Beat(ProcessKind.NOTIFIER, FAST, make_session_factory(gone)) as beating:
        wait_until(lambda: beating.failures >= 3)  # the start's two writes, then beats
        assert beating.beats == 0
    assert beating.failures >= 4  # and the removal at the stop
    gone.dispose()


def test_a_pool_process_heartbeats_on_its_own_engine(db_url: str) -> None:
    settings = HeartbeatSettings(
        interval=timedelta(seconds=1), forget_dead_here=False, database=DatabaseSettings(url=db_url)
    )
    engine = create_db_engine(db_url)
    sessions = make_session_factory(engine)
    with Beat(ProcessKind.WORKER, settings):
        assert list(rows(sessions)) == [(process_id(), "worker")]
    assert rows(sessions) == {}
    engine.dispose()


def test_starting_forgets_long_silent_processes_and_dead_ones_of_this_host(
    sessions: sessionmaker[Session],
) -> None:
    now = T0 + FORGET_AFTER + timedelta(hours=1)
    here = socket.gethostname()
    beat(sessions, ProcessKind.WORKER, "elsewhere:1", T0)  # silent for 25 h: forgotten
    beat(sessions, ProcessKind.WORKER, "elsewhere:2", now - timedelta(hours=1))  # kept
    beat(sessions, ProcessKind.NOTIFIER, f"{here}:{os.getpid()}", now)  # alive: kept
    beat(sessions, ProcessKind.WORKER, f"{here}:999999", now)  # pid gone: forgotten
    with sessions.begin() as session:
        forgotten = forget_silent_processes(
            session=session, now=now, hostname=here, alive=lambda pid: pid == os.getpid()
        )
    assert forgotten == 2
    assert set(rows(sessions)) == {
        ("elsewhere:2", "worker"),
        (f"{here}:{os.getpid()}", "notifier"),
    }
    with sessions.begin() as session:  # without a hostname: only the age counts
        later = now + FORGET_AFTER + timedelta(seconds=1)
        assert forget_silent_processes(session=session, now=later) == 2


def test_workers_read_alive_silent_or_none(sessions: sessionmaker[Session]) -> None:
    def workers(now: datetime) -> tuple[str, datetime | None, str]:
        with sessions() as session:
            found = worker_liveness(session=session, now=now, threshold=THRESHOLD)
        assert found.name == "workers"
        return found.status, found.last_heartbeat, found.detail

    assert workers(T0) == ("no_heartbeat", None, "no worker has run; 0 running tasks")
    beat(sessions, ProcessKind.WORKER, "a:1", T0 - timedelta(seconds=10))
    beat(sessions, ProcessKind.WORKER, "b:2", T0 - timedelta(seconds=5))
    beat(sessions, ProcessKind.WORKER, "c:3", T0 - timedelta(minutes=5))  # crashed
    beat(sessions, ProcessKind.NOTIFIER, "a:1", T0)  # another kind: not a worker
    latest = T0 - timedelta(seconds=5)
    assert workers(T0) == ("healthy", latest, "2 alive, 1 silent; 0 running tasks")
    later = T0 + timedelta(minutes=2)
    assert workers(later) == ("unhealthy", latest, "0 alive, 3 silent; 0 running tasks")
    forgotten = latest + FORGET_AFTER + timedelta(seconds=1)
    assert workers(forgotten)[0] == "no_heartbeat"  # older than a day counts as never
    beat(sessions, ProcessKind.WORKER, "a:1", later)
    assert workers(later) == ("healthy", later, "1 alive, 2 silent; 0 running tasks")


def test_the_running_task_count_stays_as_detail(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.add(Dag(dag_id="d1", fileloc="/dags/d1.py"))
        run = DagRun(dag_id="d1", run_id="r1", logical_date=T0, run_type=DagRunType.MANUAL)
        for task_id, state in (("a", "running"), ("b", "running"), ("c", "queued")):
            session.add(
                TaskInstance(
                    dag_run=run,
                    dag_id="d1",
                    run_id="r1",
                    task_id=task_id,
                    state=TaskInstanceState(state),
                )
            )
    beat(sessions, ProcessKind.WORKER, "a:1", T0)
    with sessions() as session:
        found = worker_liveness(session=session, now=T0, threshold=THRESHOLD)
    assert found.detail == "1 alive; 2 running tasks"


def test_the_home_page_reads_the_notifier_from_its_heartbeat(
    sessions: sessionmaker[Session],
) -> None:
    thresholds = Thresholds(
        scheduler=THRESHOLD, triggerer=THRESHOLD, worker=THRESHOLD, notifier=THRESHOLD
    )
    notifier = liveness(sessions, now=T0, thresholds=thresholds)[3]
    assert (notifier.name, notifier.status, notifier.detail) == (
        "notifier",
        "no_heartbeat",
        "no notifier has run",
    )
    beat(sessions, ProcessKind.NOTIFIER, "n:1", T0 - timedelta(seconds=2))
    notifier = liveness(sessions, now=T0, thresholds=thresholds)[3]
    assert (notifier.status, notifier.detail) == ("healthy", "1 alive")
    with sessions() as session:
        silent = process_liveness(
            session=session, kind=ProcessKind.NOTIFIER, now=T0 + THRESHOLD, threshold=THRESHOLD
        )
    assert (silent.status, silent.detail) == ("unhealthy", "0 alive, 1 silent")


def test_a_running_notifier_writes_its_row_and_removes_it_when_stopped(
    db_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = make_settings(db_url, tmp_path, scheduler={"heartbeat_interval": "50ms"})
    notifier = build_notifier(settings, sessions)
    stop = threading.Event()
    thread = threading.Thread(
        target=run_notifier,
        args=(notifier, stop),
        kwargs={"settings": settings, "session_factory": sessions},
    )
    thread.start()
    try:
        mine = (process_id(), "notifier")
        wait_until(lambda: mine in rows(sessions))
        first = rows(sessions)[mine]
        wait_until(lambda: rows(sessions)[mine] > first)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert rows(sessions) == {}


@pytest.mark.parametrize("kind", list(ProcessKind))
def test_every_kind_has_a_home_page_name(kind: ProcessKind) -> None:
    from engine.services.dashboard import LIVENESS_NAMES

    assert LIVENESS_NAMES[kind]
