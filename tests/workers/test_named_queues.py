"""A task's ``queue="gpu"`` reaches the RQ queue ``loom.gpu``, and only a worker started
with ``--queues gpu`` runs it (real Redis, database 5)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis import Redis
from rq import Queue

from engine.executors import RQExecutor, TaskJob
from tests.support.services import flushed_redis, redis_url
from workers.rq_worker import WorkerOptions, parse_queues, run_worker

REDIS_URL = redis_url(5)
"""This module's Redis database, flushed around every test."""

RAN_KEY = "loom-test:named-queues:ran"
JOB_FUNC = "tests.workers.test_named_queues.record"


def record(ti_id: int, try_number: int) -> str:
    Redis.from_url(REDIS_URL).rpush(RAN_KEY, f"{ti_id}:{try_number}")
    return "success"


@pytest.fixture
def redis_conn() -> Iterator[Redis]:
    with flushed_redis(REDIS_URL) as connection:
        yield connection


def _burst(queues: str) -> None:
    options = WorkerOptions(
        redis_url=REDIS_URL,
        queues=parse_queues([queues]),
        burst=True,
        fork=False,
        entry_points=frozenset({JOB_FUNC}),
    )
    run_worker(options, prepare=False)


@pytest.mark.redis
def test_a_named_queue_is_served_only_by_its_workers(redis_conn: Redis) -> None:
    executor = RQExecutor(redis_conn, job_func=JOB_FUNC)
    gpu = TaskJob(ti_id=7, try_number=1, dag_id="d", run_id="r", task_id="t",
                  priority_class="default", queue="loom.gpu")  # fmt: skip
    executor.submit(gpu)
    assert Queue("loom.gpu", connection=redis_conn).count == 1
    _burst("high,default,low")
    assert redis_conn.lrange(RAN_KEY, 0, -1) == []
    _burst("gpu")
    assert redis_conn.lrange(RAN_KEY, 0, -1) == [b"7:1"]


def test_a_job_names_a_queue_of_loom_only() -> None:
    with pytest.raises(ValueError, match="queue must be one of"):
        TaskJob(ti_id=1, try_number=1, dag_id="d", run_id="r", task_id="t",
                priority_class="default", queue="gpu")  # fmt: skip
