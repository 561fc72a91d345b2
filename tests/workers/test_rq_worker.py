"""``loom worker`` as a real process against Redis database 15."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import PIPE

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue

from engine.executors import RQExecutor, TaskJob
from engine.runtime.proctree import descendants, kill_all
from engine.scheduling.orphans import pid_alive
from tests.engine.executors.jobs import RAN_KEY, TEST_REDIS_URL
from tests.support.processes import kill_tree, wait_until
from tests.support.services import flushed_redis
from workers.rq_worker import LoomSimpleWorker, parse_queues

ROOT = Path(__file__).resolve().parents[2]
JOB_FUNC = "tests.engine.executors.jobs.record_in_redis"
LOOM_WORKER = [
    sys.executable,
    "-c",
    "from workers.cli import command; command()",
    "--entry-point",
    JOB_FUNC,
]


@pytest.fixture
def redis_conn() -> Iterator[Redis]:
    with flushed_redis(TEST_REDIS_URL) as connection:
        yield connection


def _env() -> dict[str, str]:
    return {**os.environ, "LOOM__REDIS__URL": TEST_REDIS_URL, "PYTHONPATH": str(ROOT)}


def _run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[bytes]:
    """Run ``loom worker`` to its end; on a timeout, kill it and every process it started
    (a leaked worker would hold RQ's scheduler locks on this database for later tests)."""
    with subprocess.Popen(
        [*LOOM_WORKER, *args], cwd=ROOT, env=_env(), stdout=PIPE, stderr=PIPE
    ) as worker:
        try:
            stdout, stderr = worker.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(worker)
            raise
    return subprocess.CompletedProcess(worker.args, worker.returncode, stdout, stderr)


def _start(*args: str, stderr: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """``loom worker`` with ``args``, left running; its output dropped unless asked for."""
    return subprocess.Popen(
        [*LOOM_WORKER, *args], cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=stderr
    )


def _stop(worker: subprocess.Popen[bytes], timeout: float = 90) -> bytes:
    """SIGTERM ``worker`` and wait for it; on a timeout, kill its whole tree. Its stderr."""
    worker.send_signal(signal.SIGTERM)
    try:
        _, stderr = worker.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(worker)
        raise
    return stderr


def _ran(redis_conn: Redis) -> list[str]:
    return [item.decode() for item in redis_conn.lrange(RAN_KEY, 0, -1)]


def _submit(redis_conn: Redis, *jobs: tuple[int, str]) -> RQExecutor:
    executor = RQExecutor(redis_conn, job_func=JOB_FUNC)
    for ti_id, priority in jobs:
        executor.submit(TaskJob(ti_id, 1, "dag", "run", f"t{ti_id}", priority))
    return executor


@pytest.mark.redis
@pytest.mark.parametrize("mode", ["--fork", "--no-fork"])
def test_loom_worker_burst_runs_queued_jobs_and_exits(redis_conn: Redis, mode: str) -> None:
    _submit(redis_conn, (1, "low"), (2, "high"), (3, "default"))
    done = _run("--burst", mode)
    assert done.returncode == 0, done.stderr.decode()
    assert _ran(redis_conn) == ["2:1", "3:1", "1:1"]


@pytest.mark.redis
def test_loom_worker_with_concurrency_runs_all_jobs(redis_conn: Redis) -> None:
    _submit(redis_conn, *[(ti_id, "default") for ti_id in range(1, 7)])
    done = _run("--burst", "--concurrency", "2", "-q", "high,default")
    assert done.returncode == 0, done.stderr.decode()
    assert sorted(_ran(redis_conn)) == [f"{ti_id}:1" for ti_id in range(1, 7)]


@pytest.mark.redis
def test_a_running_worker_runs_delayed_jobs_when_due_and_stops_on_sigterm(
    redis_conn: Redis,
) -> None:
    worker = _start("--concurrency", "2", stderr=subprocess.PIPE)
    try:
        executor = RQExecutor(redis_conn, job_func=JOB_FUNC)
        at = datetime.now(UTC) + timedelta(seconds=2)
        executor.submit(TaskJob(1, 1, "dag", "run", "t1", "default"), at=at)
        deadline = time.monotonic() + 30
        while not _ran(redis_conn) and time.monotonic() < deadline:
            assert datetime.now(UTC) < at + timedelta(seconds=30)
            time.sleep(0.05)
        ran_at = datetime.now(UTC)
        assert _ran(redis_conn) == ["1:1"]
        assert ran_at >= at
    finally:
        stderr = _stop(worker)
    assert worker.returncode == 0, stderr.decode()


@pytest.mark.redis
def test_supervised_workers_stop_cleanly_when_their_supervisor_is_killed(
    redis_conn: Redis,
) -> None:
    """``kill -9`` of ``loom worker --concurrency 2`` (or the OOM killer) must not leave its
    workers taking jobs with nothing to restart or stop them: they stop as on SIGTERM."""
    supervisor = _start("--concurrency", "2")
    started: list[int] = []
    try:
        wait_until(lambda: len(redis_conn.smembers("rq:workers")) == 2, 60, what="2 workers")
        started = descendants(supervisor.pid)
        os.kill(supervisor.pid, signal.SIGKILL)
        supervisor.wait(timeout=10)
        wait_until(
            lambda: not any(pid_alive(pid) for pid in started), 60, what="the workers to stop"
        )
        assert not redis_conn.smembers("rq:workers")  # each said goodbye to RQ: a clean stop
    finally:
        kill_tree(supervisor)
        kill_all(started)


PROMPT_EXIT_SECONDS = 15
"""Far above a normal exit (2-3 s on a loaded 2-core machine), far below the 60 s that
RQ's own pubsub listener could take to stop."""


@pytest.mark.redis
def test_worker_with_concurrency_exits_promptly_every_time(redis_conn: Redis) -> None:
    for attempt in range(10):
        started = time.monotonic()
        done = _run("--burst", "--concurrency", "2")
        took = time.monotonic() - started
        assert done.returncode == 0, done.stderr.decode()
        assert took < PROMPT_EXIT_SECONDS, f"exit {attempt} took {took:.1f} s"


@pytest.mark.redis
@pytest.mark.parametrize("mode", ["--fork", "--no-fork"])
def test_worker_stops_promptly_on_sigterm_soon_after_starting(redis_conn: Redis, mode: str) -> None:
    for attempt in range(3):
        with subprocess.Popen(
            [*LOOM_WORKER, mode], cwd=ROOT, env=_env(), stderr=subprocess.PIPE
        ) as worker:
            try:
                _wait_until_registered(redis_conn)
            except AssertionError:
                kill_tree(worker)
                raise
            started = time.monotonic()
            stderr = _stop(worker)
        took = time.monotonic() - started
        assert worker.returncode == 0, stderr.decode()
        assert took < PROMPT_EXIT_SECONDS, f"stop {attempt} took {took:.1f} s"


@pytest.mark.redis
def test_a_stop_signal_while_the_worker_starts_is_kept_for_the_work_loop(
    redis_conn: Redis,
) -> None:
    """Between registering in Redis and RQ installing its handlers, SIGTERM used to kill
    the worker outright, leaving its registration and scheduler process behind."""
    worker = LoomSimpleWorker([Queue("loom.default", connection=redis_conn)], connection=redis_conn)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        worker.bootstrap()
        os.kill(os.getpid(), signal.SIGTERM)
        assert worker._stop_requested
        child = os.fork()
        if child == 0:  # like RQ's scheduler process, forked before installing handlers
            os.kill(os.getpid(), signal.SIGTERM)
            os._exit(0)  # not reached: the signal keeps its default meaning there
        _, status = os.waitpid(child, 0)
        assert os.WIFSIGNALED(status)
        assert os.WTERMSIG(status) == signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)
        worker.teardown()
    assert not redis_conn.smembers("rq:workers")


def _wait_until_registered(redis_conn: Redis) -> None:
    """Until RQ lists a worker: by then it has subscribed to its command channel."""
    deadline = time.monotonic() + 30
    while not redis_conn.smembers("rq:workers"):
        assert time.monotonic() < deadline, "the worker never registered"
        time.sleep(0.05)


@pytest.mark.redis
def test_unknown_queue_is_a_usage_error() -> None:
    done = _run("--burst", "-q", "no/such")
    assert done.returncode == 2
    assert b"unknown queue 'no/such'" in done.stderr


def test_parse_queues() -> None:
    assert parse_queues([]) == ("loom.high", "loom.default", "loom.low")
    assert parse_queues(["low,high", "loom.low"]) == ("loom.low", "loom.high")
    assert parse_queues(["gpu,high"]) == ("loom.gpu", "loom.high")  # a named queue
    with pytest.raises(ValueError, match="unknown queue"):
        parse_queues(["no/such"])


def _worker_beats(url: str) -> dict[int, datetime]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                sa.text(
                    "SELECT pid, last_heartbeat_at FROM process_heartbeat WHERE kind = 'worker'"
                )
            )
            return {int(pid): beat for pid, beat in found}
    finally:
        engine.dispose()


@pytest.mark.redis
def test_a_worker_heartbeats_itself_while_idle_and_removes_its_row_on_a_clean_stop(
    redis_conn: Redis, db_url: str
) -> None:
    env = {
        **_env(),
        "LOOM__DATABASE__URL": db_url,
        "LOOM__SCHEDULER__HEARTBEAT_INTERVAL": "200ms",
    }
    worker = subprocess.Popen([*LOOM_WORKER, "--no-fork"], cwd=ROOT, env=env, stderr=PIPE)
    try:
        deadline = time.monotonic() + 60
        while worker.pid not in _worker_beats(db_url):
            assert time.monotonic() < deadline, "the worker wrote no heartbeat"
            time.sleep(0.1)
        first = _worker_beats(db_url)[worker.pid]
        while _worker_beats(db_url)[worker.pid] == first:
            assert time.monotonic() < deadline, "the worker's heartbeat was not refreshed"
            time.sleep(0.1)
    finally:
        stderr = _stop(worker)
    assert worker.returncode == 0, stderr.decode()
    assert _worker_beats(db_url) == {}
