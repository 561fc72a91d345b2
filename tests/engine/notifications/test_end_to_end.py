"""From a real failing DAG run to e-mails and signed webhook calls.

The scheduler ticks, the task runner runs each try in this process (as a worker would),
and the notifier delivers through a real SMTP server and a real HTTP endpoint.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from engine.delivery.notifications import build_notifier, verify_signature
from engine.models import DeliveryStatus
from engine.parser import ParseOptions, refresh_dags
from engine.scheduling.scheduler import Scheduler
from engine.services.runs import trigger_dag
from engine.state import TaskInstanceState
from engine.timeutil import utcnow
from tests.engine.notifications.conftest import (
    SECRET,
    Receiver,
    Sessions,
    SmtpServer,
    alert_settings,
    deliveries,
)
from tests.support.executors import RecordingExecutor
from workers import RunnerContext, RunnerSettings, run_task

pytestmark = pytest.mark.postgres
TI = TaskInstanceState

DAG_FILE = textwrap.dedent(
    """
    from datetime import datetime, timedelta
    from engine import DAG, PythonOperator

    def explode():
        raise ValueError("the source table is empty")

    with DAG("nightly", schedule=None, start_date=datetime(2026, 1, 1),
             email="dag-owner@x.io", notify="ops") as dag:
        PythonOperator(task_id="load", python_callable=explode, retries=1,
                       retry_delay=timedelta(0), email="task-owner@x.io")
    """
)


def test_a_failing_run_alerts_by_email_and_webhook(
    postgres_url: str,
    sessions: Sessions,
    smtp_server: SmtpServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "nightly.py").write_text(DAG_FILE)
    settings = alert_settings(
        postgres_url,
        tmp_path / "home",
        core={"dags_folder": str(folder)},
        smtp={"host": "127.0.0.1", "port": smtp_server.port},
        webhooks={"ops": {"url": receiver.url, "secret": SECRET, "timeout": "2s"}},
    )
    with sessions.begin() as session:
        refresh_dags(
            session=session, options=ParseOptions(folder, timeout=30, parallelism=1), now=utcnow()
        )
        trigger_dag(session=session, dag_id="nightly", run_id="night", now=utcnow())
    executor = RecordingExecutor()
    scheduler = Scheduler(
        session_factory=sessions, executor=executor, settings=settings, parse_dags=False
    )
    worker = RunnerContext(
        session_factory=sessions,
        executor=None,
        settings=RunnerSettings(dags_folder=folder),
        hostname="worker-1",
    )

    for expected in (TI.UP_FOR_RETRY, TI.FAILED):
        assert not scheduler.tick(utcnow()).errors
        job = executor.submitted[-1]
        assert run_task(job.ti_id, job.try_number, ctx=worker) is expected
    assert scheduler.tick(utcnow()).runs_finished == 1

    report = build_notifier(settings, sessions).run_once()

    assert (report.events, report.delivered) == (4, 7)
    mails = {m.message["X-Loom-Event"]: m for m in smtp_server.messages}
    assert set(mails) == {"task.retrying", "task.failed", "dag_run.failed"}
    assert mails["task.retrying"].rcpt_tos == ["task-owner@x.io"]
    assert mails["task.failed"].rcpt_tos == ["task-owner@x.io"]
    assert mails["dag_run.failed"].rcpt_tos == ["dag-owner@x.io"]
    failed = mails["task.failed"].message
    assert failed["Subject"] == "[Loom] Task nightly.load failed (try 2 of 2)"
    body = failed.get_body(("plain",))
    assert body is not None
    assert "Error:         ValueError: the source table is empty" in body.get_content()
    assert "https://loom.example.com/dags/nightly/runs/night/tasks/load" in body.get_content()

    calls = {r.headers["X-Loom-Event"]: r for r in receiver.requests}
    assert set(calls) == {"task.retrying", "task.failed", "dead_letter.created", "dag_run.failed"}
    assert len(receiver.requests) == len(set(receiver.event_ids())) == 4
    for request in receiver.requests:
        assert verify_signature(
            SECRET,
            timestamp=request.headers["X-Loom-Timestamp"],
            body=request.body,
            signature=request.headers["X-Loom-Signature"],
            now=utcnow(),
        )
    dead = json.loads(calls["dead_letter.created"].body)
    assert (dead["task_id"], dead["try_number"], dead["state"]) == ("load", 2, "failed")
    assert isinstance(dead["dead_letter_id"], int)
    run_failed = json.loads(calls["dag_run.failed"].body)
    assert (run_failed["task_id"], run_failed["state"]) == (None, "failed")
    assert {d.status for d in deliveries(sessions)} == {DeliveryStatus.DELIVERED}
