"""Job functions for the pre-forked worker tests, importable by ``loom worker``.

Each records ``"ti_id:try_number:pid"`` in a Redis list of database 14, so that a test
sees which process ran which job.
"""

from __future__ import annotations

import os
import signal

from redis import Redis

from tests.support.services import redis_url

POOL_REDIS_URL = redis_url(14)
"""The Redis database of these tests, flushed around each."""

RAN_KEY = "loom-test:pool-ran"


def record_pid(ti_id: int, try_number: int) -> str:
    Redis.from_url(POOL_REDIS_URL).rpush(RAN_KEY, f"{ti_id}:{try_number}:{os.getpid()}")
    return "success"


def die_on_one(ti_id: int, try_number: int) -> str:
    """ti 1 records, then its process is killed (SIGKILL, as the OOM killer does)."""
    record_pid(ti_id, try_number)
    if ti_id == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return "success"
