"""LocalExecutor: a real pool of spawned processes running test job functions."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.config.schema import DatabaseSettings
from engine.executors import LocalExecutor, TaskJob
from engine.runtime.heartbeat import HeartbeatSettings
from tests.engine.executors.jobs import RECORD_FILE_ENV, read_records, record_times

JOBS = "tests.engine.executors.jobs"


def _job(ti_id: int, priority: str = "default", try_number: int = 1) -> TaskJob:
    return TaskJob(ti_id, try_number, "dag", "run", f"task{ti_id}", priority)


@pytest.fixture
def record_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ran.txt"
    monkeypatch.setenv(RECORD_FILE_ENV, str(path))
    return path


@pytest.fixture
def make_executor(record_file: Path) -> Iterator[Callable[..., LocalExecutor]]:
    started: list[LocalExecutor] = []

    def make(job_func: str = "record_in_file", concurrency: int = 1, **kw: object) -> LocalExecutor:
        executor = LocalExecutor(concurrency, job_func=f"{JOBS}.{job_func}", **kw)  # type: ignore[arg-type]
        started.append(executor)
        return executor

    yield make
    for executor in started:
        executor.stop()


@pytest.fixture
def start_executor(
    make_executor: Callable[..., LocalExecutor],
) -> Callable[..., LocalExecutor]:
    """Like ``make_executor``, with the pool started."""

    def start(*args: str, **kw: float) -> LocalExecutor:
        executor = make_executor(*args, **kw)
        executor.start()
        return executor

    return start


def _wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def _idle(executor: LocalExecutor, *job_ids: str) -> Callable[[], bool]:
    return lambda: not any(executor.has_job(job_id) for job_id in job_ids)


def test_runs_jobs_most_urgent_class_first(
    make_executor: Callable[..., LocalExecutor], record_file: Path
) -> None:
    executor = make_executor()
    # Submitted before start: all wait in the queue, so the order is the heap's alone.
    for ti_id, priority in [(1, "low"), (2, "default"), (3, "high"), (4, "low"), (5, "high")]:
        executor.submit(_job(ti_id, priority))
    executor.start()
    _wait_until(lambda: len(read_records(record_file)) == 5)
    assert read_records(record_file) == ["3:1", "5:1", "2:1", "1:1", "4:1"]


def test_submit_is_idempotent_and_has_job_tracks_the_job(
    make_executor: Callable[..., LocalExecutor], record_file: Path
) -> None:
    executor = make_executor("slow")
    executor.submit(_job(1))
    executor.submit(_job(1))
    assert executor.has_job("1:1")
    executor.start()
    _wait_until(lambda: record_file.exists() or executor.has_job("1:1"))
    executor.submit(_job(1))  # running now: still not twice
    _wait_until(_idle(executor, "1:1"))
    assert read_records(record_file) == ["1:1"]
    assert not executor.has_job("1:1")


def test_delayed_job_waits_until_due_and_is_then_urgent(
    start_executor: Callable[..., LocalExecutor], record_file: Path
) -> None:
    executor = start_executor()
    at = datetime.now(UTC) + timedelta(seconds=1)
    executor.submit(_job(1, "low"), at=at)
    executor.submit(_job(2))
    _wait_until(lambda: read_records(record_file) == ["2:1"])
    assert executor.has_job("1:1")
    _wait_until(_idle(executor, "1:1"))
    assert record_times(record_file)["1:1"] >= at.timestamp()


def test_runs_up_to_concurrency_at_once(
    start_executor: Callable[..., LocalExecutor], record_file: Path
) -> None:
    executor = start_executor("slow", concurrency=3)
    started = time.monotonic()
    for ti_id in range(1, 4):
        executor.submit(_job(ti_id))
    _wait_until(lambda: len(read_records(record_file)) == 3)
    times = record_times(record_file).values()
    assert max(times) - min(times) < 0.4  # side by side, not one after another
    assert time.monotonic() - started < 20


def test_a_failing_job_function_does_not_end_the_pool(
    start_executor: Callable[..., LocalExecutor], record_file: Path
) -> None:
    executor = start_executor("fails")
    executor.submit(_job(1))
    executor.submit(_job(2))
    _wait_until(lambda: read_records(record_file) == ["2:1"])
    _wait_until(_idle(executor, "1:1", "2:1"))


def test_a_dead_process_is_replaced_and_its_job_dropped(
    start_executor: Callable[..., LocalExecutor], record_file: Path
) -> None:
    executor = start_executor("crash")
    executor.submit(_job(1))
    _wait_until(_idle(executor, "1:1"))
    executor.submit(_job(2))
    _wait_until(lambda: read_records(record_file) == ["2:1"])


def test_jobs_submitted_from_a_pool_process_reach_the_parent(
    start_executor: Callable[..., LocalExecutor], record_file: Path
) -> None:
    executor = start_executor("fast_follow")
    executor.submit(_job(1))
    _wait_until(lambda: read_records(record_file) == ["1:1", "101:1"])


def test_a_batch_submitted_from_a_pool_process_reaches_the_parent(
    start_executor: Callable[..., LocalExecutor], record_file: Path
) -> None:
    executor = start_executor("fan_out")
    executor.submit_many([_job(1), _job(2)])
    expected = sorted(["1:1", "101:1", "201:1", "2:1", "102:1", "202:1"])
    _wait_until(lambda: sorted(read_records(record_file)) == expected)


def test_stop_waits_for_running_jobs(
    start_executor: Callable[..., LocalExecutor], record_file: Path
) -> None:
    executor = start_executor("slow", concurrency=2)
    executor.submit(_job(1))
    executor.submit(_job(2, "low"), at=datetime.now(UTC) + timedelta(hours=1))
    time.sleep(0.3)  # the process has job 1 (it works for 0.6 s)
    executor.stop()
    assert read_records(record_file) == ["1:1"]  # finished, not killed
    assert not executor.has_job("2:1")  # pending work is dropped: the database has it
    executor.submit(_job(3))  # after stop: refused quietly
    assert not executor.has_job("3:1")


def test_stop_terminates_tasks_past_the_timeout(
    start_executor: Callable[..., LocalExecutor], record_file: Path
) -> None:
    executor = start_executor("hang", stop_timeout=0.5)
    executor.submit(_job(1))
    time.sleep(1.0)
    started = time.monotonic()
    executor.stop()
    assert time.monotonic() - started < 5
    executor.stop()  # a second stop is harmless


def test_stop_without_a_timeout_waits_until_stop_now_ends_the_running_jobs(
    start_executor: Callable[..., LocalExecutor],
) -> None:
    executor = start_executor("hang", concurrency=2, stop_timeout=None)
    executor.submit(_job(1))
    _wait_until(lambda: [job.job_id for job in executor.running()] == ["1:1"])
    stopping = threading.Thread(target=executor.stop)
    stopping.start()
    stopping.join(1.0)
    assert stopping.is_alive()  # no timeout: it waits for the hanging job
    assert executor.interrupted() == []
    executor.stop_now()
    stopping.join(10)
    assert not stopping.is_alive()
    assert [job.job_id for job in executor.interrupted()] == ["1:1"]


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        LocalExecutor(0)


def test_pool_processes_fork_from_the_frozen_forkserver_with_the_parents_surroundings(
    make_executor: Callable[..., LocalExecutor],
    record_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server may have started long before (its environment and directory are then
    stale): the pool process gets the parent's, as a spawned one would."""
    from engine.runtime import forkserver
    from tests.engine.executors.jobs import SURROUNDINGS_ENV

    forkserver.context()  # running now, without the mark
    monkeypatch.setenv(SURROUNDINGS_ENV, "marked")
    monkeypatch.chdir(tmp_path)
    executor = make_executor("record_surroundings")
    executor.start()
    executor.submit(_job(1))
    _wait_until(lambda: record_file.exists() and record_file.read_text().endswith("\n"))
    assert record_file.read_text() == f"marked:{tmp_path}:True\n"


def test_each_pool_process_heartbeats_as_a_worker_until_a_clean_stop(
    make_executor: Callable[..., LocalExecutor], db_url: str
) -> None:
    beat = HeartbeatSettings(
        interval=timedelta(milliseconds=100),
        forget_dead_here=False,
        database=DatabaseSettings(url=db_url),
    )
    executor = make_executor(concurrency=2, heartbeat=beat)
    executor.start()
    engine = sa.create_engine(db_url)

    def worker_pids() -> set[int]:
        with engine.connect() as connection:
            query = "SELECT pid FROM process_heartbeat WHERE kind = 'worker'"
            return {int(pid) for (pid,) in connection.execute(sa.text(query))}

    try:
        _wait_until(lambda: len(worker_pids()) == 2)
        assert os.getpid() not in worker_pids()  # the pool's processes, not the scheduler's
        executor.stop()
        assert worker_pids() == set()
    finally:
        engine.dispose()
