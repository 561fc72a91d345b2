"""Workers run only Loom's job entry point: a job naming any other function, or carrying
RQ callbacks or webhooks, fails unrun. Against Redis database 7 (this module's own)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Callback, Queue, Retry
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.webhook import Webhook

from engine.executors import DEFAULT_JOB_FUNC
from engine.executors.base import DAG_CALLBACK_FUNC, LOOM_ENTRY_POINTS
from tests.engine.executors.jobs import RECORD_FILE_ENV, read_records
from tests.support.processes import LOOM, REPO
from tests.support.services import flushed_redis, redis_url
from workers.entrypoints import refusal

pytestmark = pytest.mark.redis

REDIS_URL = redis_url(7)
RECORD_JOB = "tests.engine.executors.jobs.record_in_file"
LOOM_ONLY = LOOM_ENTRY_POINTS


@pytest.fixture
def redis_conn() -> Iterator[Redis]:
    with flushed_redis(REDIS_URL) as connection:
        yield connection


def _queue(redis_conn: Redis) -> Queue:
    return Queue("loom.default", connection=redis_conn, serializer=JSONSerializer)


@pytest.mark.parametrize("mode", ["--fork", "--no-fork"])
def test_loom_worker_fails_an_os_system_job_without_running_it(
    redis_conn: Redis, tmp_path: Path, mode: str
) -> None:
    pwned = tmp_path / "pwned"
    records = tmp_path / "records"
    attack = _queue(redis_conn).enqueue(
        "os.system", f"touch {pwned}", retry=Retry(max=3), job_id="attack"
    )
    _queue(redis_conn).enqueue(RECORD_JOB, kwargs={"ti_id": 1, "try_number": 1})

    done = _burst_worker(tmp_path, records, mode, "--entry-point", RECORD_JOB)

    assert done.returncode == 0, done.stderr
    assert not pwned.exists()
    assert read_records(records) == ["1:1"]  # an allowed job still runs
    job = Job.fetch(attack.id, connection=redis_conn, serializer=JSONSerializer)
    assert job.get_status() is JobStatus.FAILED  # not retried either
    result = job.latest_result()
    assert result is not None
    message = (
        "Loom refused to run job attack: it calls 'os.system', and this worker runs only "
        f"{RECORD_JOB}, {DAG_CALLBACK_FUNC}, {DEFAULT_JOB_FUNC}; Loom did not enqueue it"
    )
    assert message in (result.exc_string or "")
    assert "job attack from loom.default not run: it calls 'os.system'" in done.stderr


def test_by_default_only_run_job_may_run(redis_conn: Redis, tmp_path: Path) -> None:
    records = tmp_path / "records"
    job = _queue(redis_conn).enqueue(RECORD_JOB, kwargs={"ti_id": 1, "try_number": 1})

    done = _burst_worker(tmp_path, records, "--no-fork")

    assert done.returncode == 0, done.stderr
    assert read_records(records) == []
    assert job.get_status(refresh=True) is JobStatus.FAILED


def test_loom_s_own_jobs_pass(redis_conn: Redis) -> None:
    job = Job.create(
        DEFAULT_JOB_FUNC,
        kwargs={"ti_id": 1, "try_number": 1},
        connection=redis_conn,
        serializer=JSONSerializer,
    )
    assert refusal(job, LOOM_ONLY) is None
    callbacks = Job.create(
        DAG_CALLBACK_FUNC,
        kwargs={"request_id": 1, "dag_run_id": 1, "state": "success", "reason": "success"},
        connection=redis_conn,
        serializer=JSONSerializer,
    )
    assert refusal(callbacks, LOOM_ONLY) is None


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"on_failure": Callback("os.system")}, "failure_callback_name"),
        ({"on_success": Callback("os.system")}, "success_callback_name"),
        ({"on_stopped": Callback("os.system")}, "stopped_callback_name"),
        ({"webhooks": [Webhook("http://169.254.169.254/", "failed")]}, "webhooks"),
    ],
)
def test_callbacks_and_webhooks_are_refused(
    redis_conn: Redis, extra: dict[str, object], named: str
) -> None:
    job = Job.create(
        DEFAULT_JOB_FUNC,
        kwargs={"ti_id": 1, "try_number": 1},
        connection=redis_conn,
        serializer=JSONSerializer,
        **extra,  # type: ignore[arg-type]
    )
    job.save()
    stored = Job.fetch(job.id, connection=redis_conn, serializer=JSONSerializer)
    assert refusal(stored, LOOM_ONLY) == f"it carries RQ {named}, which Loom never sets"


def test_a_pickled_payload_is_refused_unread(redis_conn: Redis) -> None:
    job = Job.create(DEFAULT_JOB_FUNC, kwargs={"ti_id": 1, "try_number": 1}, connection=redis_conn)
    job.save()  # RQ's default serializer: pickle
    assert redis_conn.hget(job.key, "data") is not None
    stored = Job.fetch(job.id, connection=redis_conn, serializer=JSONSerializer)
    reason = refusal(stored, LOOM_ONLY)
    assert reason is not None
    assert reason.startswith("its payload cannot be read as Loom's JSON")


def _burst_worker(tmp_path: Path, records: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``loom worker --burst`` with ``options``, recording jobs in ``records``, to its end."""
    return subprocess.run(
        [LOOM, "worker", "--burst", *options],
        cwd=REPO,
        env=_env(tmp_path, **{RECORD_FILE_ENV: str(records)}),
        timeout=120,
        capture_output=True,
        text=True,
    )


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOOM")},
        "LOOM_HOME": str(tmp_path / "home"),
        "LOOM__DATABASE__URL": f"sqlite:///{tmp_path / 'loom.db'}",
        "LOOM__REDIS__URL": REDIS_URL,
        "LOOM__METRICS__WORKER_PORT": "0",
        "PYTHONPATH": str(REPO),
        **extra,
    }
