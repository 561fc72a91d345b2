"""Runs and task instances marked by hand alert like any other end: through the outbox,
to the same e-mail recipients and webhooks."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from engine.delivery.notifications import build_notifier
from engine.models import DeliveryStatus
from engine.parser import ParseOptions, refresh_dags
from engine.services.runs import trigger_dag
from engine.services.taskchanges import mark_task_instance
from engine.state import TaskInstanceState
from engine.timeutil import utcnow
from tests.engine.notifications.conftest import (
    Receiver,
    Sessions,
    SmtpServer,
    alert_settings,
    deliveries,
)
from tests.support.cli import loom

pytestmark = pytest.mark.postgres

DAG_FILE = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, EmptyOperator

    with DAG("nightly", schedule=None, start_date=datetime(2026, 1, 1),
             email="dag-owner@x.io", notify="ops") as dag:
        EmptyOperator(task_id="load", email="task-owner@x.io")
    """
)


@pytest.fixture
def nightly(sessions: Sessions, tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "nightly.py").write_text(DAG_FILE)
    with sessions.begin() as session:
        refresh_dags(
            session=session, options=ParseOptions(folder, timeout=30, parallelism=1), now=utcnow()
        )
        trigger_dag(session=session, dag_id="nightly", run_id="night", now=utcnow())
    return folder


def test_a_run_marked_failed_by_hand_sends_its_failure_alert(
    postgres_url: str,
    sessions: Sessions,
    nightly: Path,
    smtp_server: SmtpServer,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOOM__DATABASE__URL", postgres_url)
    marked = loom("runs", "mark", "nightly", "night", "failed")
    assert marked.exit_code == 0, marked.output
    again = loom("runs", "mark", "nightly", "night", "failed")  # no change: no second alert
    assert again.exit_code == 0, again.output

    settings = alert_settings(
        postgres_url, tmp_path / "home",
        smtp={"host": "127.0.0.1", "port": smtp_server.port},
        webhooks={"ops": {"url": receiver.url, "timeout": "2s"}},
    )  # fmt: skip
    report = build_notifier(settings, sessions).run_once()

    assert (report.events, report.delivered) == (1, 2)
    (mail,) = smtp_server.messages
    assert mail.message["X-Loom-Event"] == "dag_run.failed"
    assert mail.rcpt_tos == ["dag-owner@x.io"]
    (call,) = receiver.requests
    event = json.loads(call.body)
    assert (event["event_type"], event["run_id"], event["state"]) == (
        "dag_run.failed",
        "night",
        "failed",
    )
    assert event["error"] == {"type": "MarkedFailed", "message": "marked failed by hand"}
    assert {d.status for d in deliveries(sessions)} == {DeliveryStatus.DELIVERED}


def test_a_task_marked_failed_by_hand_sends_task_failed(
    postgres_url: str,
    sessions: Sessions,
    nightly: Path,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    for state in (TaskInstanceState.SKIPPED, TaskInstanceState.FAILED):  # skipped tells no one
        with sessions.begin() as session:
            mark_task_instance(
                session=session, dag_id="nightly", run_id="night", task_id="load",
                state=state, now=utcnow(),
            )  # fmt: skip

    settings = alert_settings(
        postgres_url, tmp_path / "home", webhooks={"ops": {"url": receiver.url}}
    )
    report = build_notifier(settings, sessions).run_once()

    assert report.events == 1
    (call,) = receiver.requests
    event = json.loads(call.body)
    assert (event["event_type"], event["task_id"], event["state"]) == (
        "task.failed",
        "load",
        "failed",
    )
    assert event["error"]["type"] == "MarkedFailed"
    assert event["dead_letter_id"] is None
