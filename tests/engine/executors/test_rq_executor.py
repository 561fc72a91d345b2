"""RQExecutor against a real Redis (database 15), run by in-process burst workers; its
batches (``submit_many``) with their round trips counted."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Connection, ConnectionPool, Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from engine.executors import PRIORITY_CLASSES, QUEUE_NAMES, RQExecutor, TaskJob
from engine.executors.rq_executor import rq_job_id
from tests.engine.executors.jobs import RAN_KEY, TEST_REDIS_URL
from workers.rq_worker import WorkerOptions, run_worker

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("keep_signal_handlers")]

JOB_FUNC = "tests.engine.executors.jobs.record_in_redis"


def _job(ti_id: int, priority: str = "default", try_number: int = 1) -> TaskJob:
    return TaskJob(ti_id, try_number, "dag", "run", f"task{ti_id}", priority)


def _executor(redis_conn: Redis) -> RQExecutor:
    return RQExecutor(redis_conn, job_func=JOB_FUNC)


def _burst(**options: object) -> None:
    run_worker(
        WorkerOptions(
            redis_url=TEST_REDIS_URL,
            burst=True,
            fork=False,
            entry_points=frozenset({JOB_FUNC}),
            **options,  # type: ignore[arg-type]
        ),
        prepare=False,
    )


def _ran(redis_conn: Redis) -> list[str]:
    return [item.decode() for item in redis_conn.lrange(RAN_KEY, 0, -1)]


def _queued(redis_conn: Redis) -> dict[str, list[str]]:
    return {name: Queue(name, connection=redis_conn).get_job_ids() for name in QUEUE_NAMES}


def test_task_job_identity() -> None:
    job = _job(7, "high", try_number=3)
    assert job.job_id == "7:3"
    assert job.queue == "loom.high"
    with pytest.raises(ValueError, match="priority_class"):
        _job(1, "urgent")


def test_submit_is_idempotent_per_job_id(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    executor.start()
    executor.submit(_job(1))
    executor.submit(_job(1))
    executor.submit(_job(1, try_number=2))
    assert _queued(redis_conn)["loom.default"] == ["loom-1-1", "loom-1-2"]
    _burst()
    assert sorted(_ran(redis_conn)) == ["1:1", "1:2"]


def test_payload_is_ids_as_json(redis_conn: Redis) -> None:
    _executor(redis_conn).submit(_job(42, "low", try_number=2))
    stored = redis_conn.hgetall(Job.key_for(rq_job_id("42:2")))
    data = json.loads(zlib.decompress(stored[b"data"]))
    assert data == [JOB_FUNC, None, [], {"ti_id": 42, "try_number": 2}]
    assert not any(value.startswith(b"\x80") for value in stored.values())  # no pickle
    job = Job.fetch(rq_job_id("42:2"), connection=redis_conn, serializer=JSONSerializer)
    assert job.origin == "loom.low"
    assert job.timeout == -1


def test_workers_take_the_most_urgent_class_first(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    for ti_id, priority in [(1, "low"), (2, "default"), (3, "high"), (4, "low"), (5, "high")]:
        executor.submit(_job(ti_id, priority))
    _burst()
    assert _ran(redis_conn) == ["3:1", "5:1", "2:1", "1:1", "4:1"]


def test_round_robin_rotates_between_classes(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    for ti_id, priority in [(1, "high"), (2, "high"), (3, "low"), (4, "low")]:
        executor.submit(_job(ti_id, priority))
    _burst(dequeue_strategy="round_robin")
    assert _ran(redis_conn) == ["1:1", "3:1", "2:1", "4:1"]


def test_queues_option_limits_what_a_worker_takes(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    executor.submit(_job(1, "high"))
    executor.submit(_job(2, "low"))
    _burst(queues=("loom.low",))
    assert _ran(redis_conn) == ["2:1"]
    assert executor.has_job("1:1")


def test_delayed_job_runs_only_when_due(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    at = datetime.now(UTC) + timedelta(seconds=1.5)
    executor.submit(_job(1, "high"), at=at)
    executor.submit(_job(1, "high"), at=at)  # idempotent while scheduled too
    _burst()
    assert _ran(redis_conn) == []
    assert executor.has_job("1:1")
    assert Job.fetch(rq_job_id("1:1"), connection=redis_conn).get_status() == "scheduled"
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 1.1)
    _burst()
    assert _ran(redis_conn) == ["1:1"]


def test_naive_at_is_refused(redis_conn: Redis) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _executor(redis_conn).submit(_job(1), at=datetime(2030, 1, 1))


def test_has_job_follows_the_job_in_redis(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    assert not executor.has_job("1:1")
    executor.submit(_job(1))
    assert executor.has_job("1:1")
    _burst()
    assert not executor.has_job("1:1")  # finished: final


def test_has_job_is_false_after_redis_loses_the_job(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    executor.submit(_job(1))
    executor.submit(_job(2))
    redis_conn.delete(Job.key_for(rq_job_id("1:1")))
    assert not executor.has_job("1:1")
    assert executor.has_job("2:1")
    redis_conn.flushdb()  # FLUSHALL, as far as this database is concerned
    assert not executor.has_job("2:1")
    executor.submit(_job(2))  # reconciliation re-submits
    assert executor.has_job("2:1")
    _burst()
    assert _ran(redis_conn) == ["2:1"]


def test_a_finished_job_is_replaced_when_submitted_again(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    executor.submit(_job(1))
    _burst()
    executor.submit(_job(1))
    assert executor.has_job("1:1")
    _burst()
    assert _ran(redis_conn) == ["1:1", "1:1"]


def test_a_started_job_is_not_submitted_again(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    executor.submit(_job(1))
    job = Job.fetch(rq_job_id("1:1"), connection=redis_conn, serializer=JSONSerializer)
    job.set_status("started")  # as a worker does when it takes the job
    Queue("loom.default", connection=redis_conn).remove(job)
    executor.submit(_job(1))
    assert _queued(redis_conn)["loom.default"] == []
    assert executor.has_job("1:1")


# --- batches (submit_many) ----------------------------------------------------------------


class CountingConnection(Connection):
    """A Redis connection that counts what it writes to the socket: one write is one
    round trip (a pipeline or a transaction is written in one go)."""

    writes = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.writes += 1
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]


@pytest.fixture
def counting_conn(redis_conn: Redis) -> Iterator[Redis]:
    """A client of the tests' Redis database whose round trips are counted."""
    pool = ConnectionPool.from_url(TEST_REDIS_URL, connection_class=CountingConnection)
    yield Redis(connection_pool=pool)
    pool.disconnect()


def test_submit_many_queues_each_job_on_its_queue(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    jobs = [_job(1, "low"), _job(2), _job(3, "high"), _job(4, "low"), _job(5, "high")]
    executor.submit_many([*jobs, TaskJob(6, 1, "dag", "run", "gpu", "default", "loom.gpu")])
    assert _queued(redis_conn) == {
        "loom.high": ["loom-3-1", "loom-5-1"],
        "loom.default": ["loom-2-1"],
        "loom.low": ["loom-1-1", "loom-4-1"],
    }
    assert Queue("loom.gpu", connection=redis_conn).get_job_ids() == ["loom-6-1"]
    job = Job.fetch(rq_job_id("4:1"), connection=redis_conn, serializer=JSONSerializer)
    assert (job.origin, job.timeout, job.kwargs) == ("loom.low", -1, {"ti_id": 4, "try_number": 1})
    assert job.description == "dag/run/task4 try 1"
    _burst()
    assert _ran(redis_conn) == ["3:1", "5:1", "2:1", "1:1", "4:1"]


def test_submit_many_leaves_pending_jobs_alone(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    executor.submit(_job(1))
    executor.submit(_job(2))
    started = Job.fetch(rq_job_id("2:1"), connection=redis_conn, serializer=JSONSerializer)
    started.set_status(JobStatus.STARTED)  # as a worker does when it takes the job
    Queue("loom.default", connection=redis_conn).remove(started)

    executor.submit_many([_job(1), _job(2), _job(3), _job(3), _job(4)])

    assert _queued(redis_conn)["loom.default"] == ["loom-1-1", "loom-3-1", "loom-4-1"]
    assert executor.has_job("2:1")


def test_submit_many_replaces_a_finished_job(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    executor.submit(_job(1))
    _burst()
    executor.submit_many([_job(1), _job(2)])
    # The finished one is replaced after the batch's transaction: last in its queue.
    assert _queued(redis_conn)["loom.default"] == ["loom-2-1", "loom-1-1"]
    _burst()
    assert _ran(redis_conn) == ["1:1", "2:1", "1:1"]


def test_submit_many_at_delays_the_batch(redis_conn: Redis) -> None:
    executor = _executor(redis_conn)
    at = datetime.now(UTC) + timedelta(seconds=1.5)
    executor.submit_many([_job(1, "high"), _job(2, "low")], at=at)
    executor.submit_many([_job(1, "high"), _job(2, "low")], at=at)  # idempotent while scheduled
    _burst()
    assert _ran(redis_conn) == []
    for job_id in ("1:1", "2:1"):
        assert Job.fetch(rq_job_id(job_id), connection=redis_conn).get_status() == "scheduled"
    with pytest.raises(ValueError, match="timezone-aware"):
        executor.submit_many([_job(3)], at=datetime(2030, 1, 1))
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 1.1)
    _burst()
    assert _ran(redis_conn) == ["1:1", "2:1"]


def test_a_batch_costs_the_same_few_round_trips_whatever_its_size(counting_conn: Redis) -> None:
    executor = _executor(counting_conn)
    executor.submit_many([_job(n, priority) for n, priority in enumerate(PRIORITY_CLASSES)])
    before = CountingConnection.writes  # each queue has read Redis's version once
    executor.submit_many([_job(100 + n, PRIORITY_CLASSES[n % 3]) for n in range(60)])
    trips = CountingConnection.writes - before
    assert trips <= 3  # WATCH, the statuses' pipeline, MULTI/EXEC: not one or more a job
    assert sum(len(ids) for ids in _queued(counting_conn).values()) == 63


def test_a_job_written_meanwhile_aborts_the_batch_which_falls_back_to_one_by_one(
    redis_conn: Redis,
) -> None:
    rival = _executor(redis_conn)

    class Raced(RQExecutor):
        """Another process submits job 2 between this batch's read and its write."""

        def _statuses(self, rq_ids: Sequence[str]) -> list[JobStatus | None]:
            statuses = super()._statuses(rq_ids)
            rival.submit(_job(2))
            return statuses

    Raced(redis_conn, job_func=JOB_FUNC).submit_many([_job(1), _job(2), _job(3)])
    assert _queued(redis_conn)["loom.default"] == ["loom-2-1", "loom-1-1", "loom-3-1"]
