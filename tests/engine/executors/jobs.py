"""Job functions for executor tests, importable by RQ workers and pool processes.

They stand in for ``workers.entry.run_job``: each records ``"ti_id:try_number"`` where
the test can read it, a Redis list (RQ tests) or a file (local executor tests).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from redis import Redis

from engine.executors import TaskJob, child_executor
from tests.support.services import redis_url

TEST_REDIS_URL = redis_url(15)
"""The Redis database executor tests use, flushed around every test (never db 0)."""

RAN_KEY = "loom-test:ran"
"""Redis list of the jobs that ran, in order."""

RECORD_FILE_ENV = "EXECUTOR_TEST_RECORD_FILE"
"""Environment variable naming the file local executor jobs append to."""

SLOW_SECONDS = 0.6
"""How long :func:`slow` works."""


def record_in_redis(ti_id: int, try_number: int) -> str:
    Redis.from_url(TEST_REDIS_URL).rpush(RAN_KEY, f"{ti_id}:{try_number}")
    return "success"


def record_in_file(ti_id: int, try_number: int) -> None:
    path = Path(os.environ[RECORD_FILE_ENV])
    with path.open("a") as handle:
        handle.write(f"{ti_id}:{try_number} {time.time():.3f}\n")


def slow(ti_id: int, try_number: int) -> None:
    time.sleep(SLOW_SECONDS)
    record_in_file(ti_id, try_number)


def hang(ti_id: int, try_number: int) -> None:
    time.sleep(3600)


def crash(ti_id: int, try_number: int) -> None:
    """ti 1 kills its process (a segfault, ``os._exit``); other ids record normally."""
    if ti_id == 1:
        os._exit(3)
    record_in_file(ti_id, try_number)


def fails(ti_id: int, try_number: int) -> None:
    """ti 1 raises (a bug in the runner); other ids record normally."""
    if ti_id == 1:
        raise RuntimeError("boom")
    record_in_file(ti_id, try_number)


def fast_follow(ti_id: int, try_number: int) -> None:
    """Record, then submit ti ``ti_id + 100`` through the pool's link to its parent."""
    record_in_file(ti_id, try_number)
    link = child_executor()
    if ti_id < 100 and link is not None:
        link.submit(TaskJob(ti_id + 100, 1, "d", "r", "t", "high"))


def fan_out(ti_id: int, try_number: int) -> None:
    """Record, then submit tis ``ti_id + 100`` and ``ti_id + 200`` as one batch through the
    pool's link to its parent (a fast-follow's fan-out)."""
    record_in_file(ti_id, try_number)
    link = child_executor()
    if ti_id < 100 and link is not None:
        link.submit_many([TaskJob(ti_id + n, 1, "d", "r", "t", "high") for n in (100, 200)])


def read_records(path: Path) -> list[str]:
    """The job ids recorded in ``path``, in order."""
    if not path.exists():
        return []
    return [line.split()[0] for line in path.read_text().splitlines() if line]


def record_times(path: Path) -> dict[str, float]:
    """When each job id was recorded (epoch seconds)."""
    return {line.split()[0]: float(line.split()[1]) for line in path.read_text().splitlines()}


def record_callbacks(request_id: int, dag_run_id: int, state: str, reason: str) -> None:
    """A stand-in for ``workers.entry.run_dag_callbacks``: records its arguments."""
    path = Path(os.environ[RECORD_FILE_ENV])
    with path.open("a") as handle:
        handle.write(f"{request_id} {dag_run_id} {state} {reason}\n")


SURROUNDINGS_ENV = "EXECUTOR_TEST_MARK"
"""Set by a test after the forkserver started: a pool process sees it only if it was
given the parent's environment as it was when the process started."""


def record_surroundings(ti_id: int, try_number: int) -> None:
    """Records what the pool process inherited: the mark, its working directory, and
    whether the objects it got from the forkserver were frozen there."""
    import gc

    mark = os.environ.get(SURROUNDINGS_ENV, "-")
    with Path(os.environ[RECORD_FILE_ENV]).open("a") as handle:
        handle.write(f"{mark}:{Path.cwd()}:{gc.get_freeze_count() > 0}\n")
