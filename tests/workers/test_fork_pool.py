"""``loom worker --fork``'s reused children, as real processes against Redis database 14."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from engine.executors import RQExecutor, TaskJob
from engine.priority import queue_name
from engine.runtime.proctree import descendants
from tests.support.processes import kill_tree, wait_until
from tests.support.services import flushed_redis
from tests.workers.pooljobs import POOL_REDIS_URL, RAN_KEY

ROOT = Path(__file__).resolve().parents[2]
RECORD = "tests.workers.pooljobs.record_pid"
DIE = "tests.workers.pooljobs.die_on_one"

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_conn() -> Iterator[Redis]:
    with flushed_redis(POOL_REDIS_URL) as connection:
        yield connection


def _command(func: str, *args: str) -> list[str]:
    return [
        sys.executable, "-c", "from workers.cli import command; command()",
        "--entry-point", func, "-q", "default", *args,
    ]  # fmt: skip


def _env(**settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "LOOM__REDIS__URL": POOL_REDIS_URL,
        "LOOM__METRICS__WORKER_PORT": "0",
        "PYTHONPATH": str(ROOT),
        **settings,
    }


def _burst(func: str, *args: str, **settings: str) -> subprocess.CompletedProcess[bytes]:
    with subprocess.Popen(
        _command(func, "--burst", "--fork", *args), cwd=ROOT, env=_env(**settings),
        stdout=PIPE, stderr=PIPE,
    ) as worker:  # fmt: skip
        try:
            stdout, stderr = worker.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            kill_tree(worker)
            raise
    return subprocess.CompletedProcess(worker.args, worker.returncode, stdout, stderr)


def _submit(redis_conn: Redis, func: str, ti_ids: range) -> None:
    executor = RQExecutor(redis_conn, job_func=func)
    for ti_id in ti_ids:
        executor.submit(TaskJob(ti_id, 1, "dag", "run", f"t{ti_id}", "default"))


def _ran(redis_conn: Redis) -> list[tuple[int, int]]:
    """(ti_id, pid) of each job run, in order."""
    entries = [item.decode().split(":") for item in redis_conn.lrange(RAN_KEY, 0, -1)]
    return [(int(ti_id), int(pid)) for ti_id, _try, pid in entries]


def test_one_child_runs_try_after_try(redis_conn: Redis) -> None:
    _submit(redis_conn, RECORD, range(1, 5))
    done = _burst(RECORD)
    assert done.returncode == 0, done.stderr.decode()
    ran = _ran(redis_conn)
    assert [ti_id for ti_id, _ in ran] == [1, 2, 3, 4]
    pids = {pid for _, pid in ran}
    assert len(pids) == 1, f"each try forked anew: {ran}"
    assert b"forked worker child" in done.stderr, "the jobs ran in a child, not in the worker"


def test_a_child_is_replaced_after_max_tries_per_child(redis_conn: Redis) -> None:
    _submit(redis_conn, RECORD, range(1, 6))
    done = _burst(RECORD, LOOM__WORKER__MAX_TRIES_PER_CHILD="2")
    assert done.returncode == 0, done.stderr.decode()
    pids = [pid for _, pid in _ran(redis_conn)]
    assert len(pids) == 5
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4], pids
    assert len(set(pids)) == 3


def test_a_child_killed_mid_try_is_replaced_and_the_next_jobs_run(redis_conn: Redis) -> None:
    _submit(redis_conn, DIE, range(1, 4))
    done = _burst(DIE)
    assert done.returncode == 0, done.stderr.decode()
    ran = _ran(redis_conn)
    assert [ti_id for ti_id, _ in ran] == [1, 2, 3]
    (_, dead), (_, second), (_, third) = ran
    assert second != dead, "the job after the killed one ran in the dead child's pid"
    assert third == second, "the replacement child is reused in turn"
    queue = Queue(queue_name("default"), connection=redis_conn, serializer=JSONSerializer)
    failed = FailedJobRegistry(queue=queue).get_job_ids()
    assert len(failed) == 1, "the killed child's job is failed, not left started"
    assert b"terminated unexpectedly" in done.stderr


def _workers(redis_conn: Redis) -> dict[str, int]:
    return {w.name: w.pid for w in Worker.all(connection=redis_conn) if w.pid}


def test_a_dead_worker_process_under_concurrency_is_restarted(redis_conn: Redis) -> None:
    supervisor = subprocess.Popen(
        _command(RECORD, "--concurrency", "2", "--fork"), cwd=ROOT, env=_env(),
        stdout=PIPE, stderr=PIPE,
    )  # fmt: skip
    try:
        first = wait_until(lambda: len(_workers(redis_conn)) == 2 and _workers(redis_conn), 60,
                           what="two workers registered")  # fmt: skip
        # The worker that runs RQ's scheduler process: that fork outlived a killed worker
        # and hid its death from the supervisor.
        victim_name, victim = wait_until(
            lambda: next(((n, p) for n, p in first.items() if descendants(p)), None), 60,
            what="a worker's RQ scheduler process",
        )  # fmt: skip
        leftovers = descendants(victim)
        os.kill(victim, signal.SIGKILL)
        redis_conn.delete(f"rq:worker:{victim_name}")  # RQ's key outlives a killed worker
        replaced = wait_until(
            lambda: len(_workers(redis_conn)) == 2 and set(_workers(redis_conn)) - set(first),
            60, what="a replacement worker registered",
        )  # fmt: skip
        assert len(replaced) == 1
        wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in leftovers), 30,
                   what="the dead worker's processes gone")  # fmt: skip
        _submit(redis_conn, RECORD, range(1, 5))
        wait_until(lambda: len(_ran(redis_conn)) == 4, 60, what="the jobs ran")
        supervisor.send_signal(signal.SIGTERM)
        _, stderr = supervisor.communicate(timeout=60)
    except BaseException:
        kill_tree(supervisor)
        raise
    assert supervisor.returncode == 0, stderr.decode()
    assert b"died (exit -9); starting another" in stderr
