"""How DAG callback requests reach a worker: an RQ job (ids only, one per request) or,
with the local executor, a process of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from engine.executors.base import DAG_CALLBACK_FUNC, CallbackJob
from engine.executors.callbacks import ProcessCallbackTransport, RQCallbackTransport
from tests.engine.executors.jobs import RECORD_FILE_ENV
from tests.support.processes import wait_until
from tests.support.services import flushed_redis, redis_url

REDIS_URL = redis_url(6)
JOB = CallbackJob(request_id=7, dag_run_id=3, state="failed", reason="task_failure")


@pytest.fixture
def redis6() -> Iterator[Redis]:
    with flushed_redis(REDIS_URL) as connection:
        yield connection


@pytest.mark.redis
def test_a_request_is_one_rq_job_with_ids_only(redis6: Redis) -> None:
    transport = RQCallbackTransport(redis6)
    transport.submit_callbacks(JOB)
    transport.submit_callbacks(JOB)  # a second delivery of the same request
    queue = Queue("loom.default", connection=redis6, serializer=JSONSerializer)
    [job] = queue.get_jobs()
    assert (job.id, job.func_name) == ("loom-callback-7", DAG_CALLBACK_FUNC)
    assert job.kwargs == {
        "request_id": 7,
        "dag_run_id": 3,
        "state": "failed",
        "reason": "task_failure",
    }


def test_without_redis_a_request_runs_in_a_process_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "record"
    monkeypatch.setenv(RECORD_FILE_ENV, str(record))
    transport = ProcessCallbackTransport(job_func="tests.engine.executors.jobs.record_callbacks")
    transport.submit_callbacks(JOB)
    wait_until(record.exists, 30, what="the callback process")
    transport.close()
    assert record.read_text() == "7 3 failed task_failure\n"
