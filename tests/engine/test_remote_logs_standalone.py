"""Remote logs end to end: ``loom standalone``'s worker processes upload finished tries'
logs to moto (server mode, 127.0.0.1) as configured by ``LOOM__LOGGING__*``, the database
keeps the tail, and ``loom tasks logs`` prints the whole log, or the tail with a note when
the store is down. moto and boto3 are dev requirements: without them this errors."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.config import load_settings
from engine.execution.remotelogs import S3LogStore
from engine.models import TaskAttempt, TaskInstance
from engine.runtime.database import session_factory_for
from tests.support.aws import LOG_BUCKET
from tests.support.cli import loom
from tests.support.network import free_port
from tests.support.standalone import running_standalone, standalone_environment, wait_for

DAG_FILE = """
from datetime import datetime
from engine import DAG, PythonOperator

def shout():
    for n in range(40):
        print(f"early line {n}")
    print("hello from the worker")

with DAG("pipeline", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    PythonOperator(task_id="hello", python_callable=shout)
"""


@pytest.fixture
def standalone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3: S3LogStore, moto_url: str
) -> Iterator[None]:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "pipeline.py").write_text(DAG_FILE)
    monkeypatch.setenv("LOOM__LOGGING__REMOTE_BASE_URL", f"s3://{LOG_BUCKET}/prod")
    monkeypatch.setenv("LOOM__LOGGING__REMOTE_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("LOOM__LOGGING__REMOTE_TAIL_BYTES", "64")
    # The worker keeps less than the task prints: the whole log comes from its spool.
    monkeypatch.setenv("LOOM__CORE__MAX_LOG_BYTES", "512")
    spools = tmp_path / "tmp"
    spools.mkdir()
    monkeypatch.setenv("TMPDIR", str(spools))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    standalone_environment(monkeypatch, dags)
    with running_standalone():
        yield


def uploaded_attempt(timeout: float = 20) -> TaskAttempt:
    """The ``hello`` try once its log is uploaded (after its finish committed)."""
    sessions = session_factory_for(load_settings())
    deadline = time.monotonic() + timeout
    while True:
        with sessions() as session:
            attempt = session.scalars(
                sa.select(TaskAttempt).join(TaskInstance).where(TaskInstance.task_id == "hello")
            ).one()
        if attempt.log_remote_url is not None or time.monotonic() > deadline:
            return attempt
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.usefixtures("standalone")
def test_standalone_uploads_logs_and_the_cli_reads_them(
    moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert loom("dags", "reparse").exit_code == 0
    assert loom("dags", "trigger", "pipeline", "--run-id", "first").exit_code == 0
    assert wait_for("first", {"success", "failed"}) == "success"

    attempt = uploaded_attempt()
    url = f"s3://{LOG_BUCKET}/prod/pipeline/first/hello/-1/try_1.log"
    assert attempt.log_remote_url == url
    assert attempt.log is not None
    assert len(attempt.log.encode()) <= 64
    assert attempt.log_truncated  # the worker kept only core.max_log_bytes...
    uploaded = S3LogStore(endpoint_url=moto_url).get(url)
    assert "early line 0\n" in uploaded  # ...but uploaded the whole log, from its spool
    assert uploaded.count("early line") == 40
    assert list((tmp_path / "tmp").glob("loom-log-*")) == []  # deleted after the upload

    whole = loom("tasks", "logs", "pipeline", "first", "hello")
    assert whole.exit_code == 0, whole.output
    assert "early line 0\n" in whole.stdout
    assert "hello from the worker" in whole.stdout

    monkeypatch.setenv("LOOM__LOGGING__REMOTE_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    tail = loom("tasks", "logs", "pipeline", "first", "hello")
    assert tail.exit_code == 0, tail.output
    assert tail.stdout == attempt.log
    assert url in tail.stderr
    assert "could not be read" in tail.stderr
