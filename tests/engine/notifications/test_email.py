"""E-mail alerts against a real SMTP server (aiosmtpd): content, recipients, TLS and login,
refusals, and an outage."""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.delivery.dispatcher import Dispatcher
from engine.delivery.notifications import EventType, build_notifier
from engine.delivery.notifications.email import render_email
from engine.delivery.notifications.events import Event, with_url
from engine.models import DeliveryStatus
from tests.engine.notifications.conftest import (
    BASE_URL,
    NOW,
    Sessions,
    SmtpServer,
    add_event,
    alert_settings,
    deliveries,
    login_checker,
    self_signed_certificate,
    server_tls,
    serving,
)
from tests.support.network import free_port

SEC = timedelta(seconds=1)
RUN_ID = "manual__2026-03-01T06:00:00+00:00"
TASK_URL = f"{BASE_URL}/dags/etl/runs/manual__2026-03-01T06%3A00%3A00%2B00%3A00/tasks/extract"
RUN_URL = f"{BASE_URL}/dags/etl/runs/manual__2026-03-01T06%3A00%3A00%2B00%3A00"

SUBJECTS = {
    EventType.TASK_FAILED: "[Loom] Task etl.extract failed (try 2 of 2)",
    EventType.TASK_RETRYING: "[Loom] Task etl.extract will be retried (try 2 of 2 failed)",
    EventType.TASK_SUCCEEDED: "[Loom] Task etl.extract succeeded",
    EventType.TASK_DEADLINE_MISSED: "[Loom] Task etl.extract missed its deadline",
    EventType.DEAD_LETTER_CREATED: "[Loom] Dead letter 7: task etl.extract failed for good",
    EventType.DAG_RUN_FAILED: f"[Loom] DAG run etl {RUN_ID} failed",
    EventType.DAG_RUN_SUCCEEDED: f"[Loom] DAG run etl {RUN_ID} succeeded",
    EventType.DAG_RUN_DEADLINE_MISSED: f"[Loom] DAG run etl {RUN_ID} missed its deadline",
}


def document(event_type: EventType) -> dict[str, Any]:
    task = event_type.value.startswith(("task.", "dead_letter."))
    deadline = event_type.value.endswith("deadline_missed")
    event = Event(
        event_type=event_type,
        occurred_at=NOW,
        dag_id="etl",
        run_id=RUN_ID,
        logical_date=NOW,
        run_started_at=NOW - timedelta(hours=1),
        state="running" if deadline else "failed",
        task_id="extract" if task else None,
        try_number=2 if task else None,
        max_tries=2 if task else None,
        error=None if deadline else {"type": "ValueError", "message": "bad <row> & 7"},
        deadline={"after_seconds": 1800.0, "due_at": NOW.isoformat()} if deadline else None,
        dead_letter_id=7 if event_type is EventType.DEAD_LETTER_CREATED else None,
    )
    return with_url(BASE_URL, event.to_dict())


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_renders_a_subject_a_text_and_an_html_body(event_type: EventType) -> None:
    event = document(event_type)

    subject, text, html = render_email(event)

    assert subject == SUBJECTS[event_type]
    url = TASK_URL if event["task_id"] else RUN_URL
    assert f"Open in Loom: {url}" in text
    assert f'<a href="{url}">' in html
    assert subject.removeprefix("[Loom] ") in text
    assert f"Run:           {RUN_ID}" in text
    assert f"Event {event['event_id']} ({event_type.value})" in text
    if event["task_id"]:
        assert "Task:          extract\nTry:           2 of 2\n" in text
    if event["error"]:
        assert "Error:         ValueError: bad <row> & 7" in text
        assert "ValueError: bad &lt;row&gt; &amp; 7" in html  # escaped in HTML only
    if event["deadline"]:
        assert "Deadline:      1800.0 s after the run started" in text


MakeNotifier = Callable[..., Dispatcher]


@pytest.fixture
def notifier_for(postgres_url: str, sessions: Sessions, tmp_path: Path) -> MakeNotifier:
    """``notifier_for(server, **smtp_settings)``: a notifier sending through ``server``."""

    def make(
        server: SmtpServer,
        alerts: dict[str, Any] | None = None,
        trust: ssl.SSLContext | None = None,
        **smtp: Any,
    ) -> Dispatcher:
        settings = alert_settings(
            postgres_url,
            tmp_path / "home",
            smtp={"host": "127.0.0.1", "port": server.port, "mail_from": "loom@x.io", **smtp},
            alerts=alerts,
        )
        return build_notifier(settings, sessions, clock=lambda: NOW, smtp_ssl_context=trust)

    return make


@pytest.mark.postgres
def test_recipients_come_from_the_task_or_dag_else_the_defaults(
    sessions: Sessions, smtp_server: SmtpServer, notifier_for: MakeNotifier
) -> None:
    owned = add_event(sessions, EventType.TASK_FAILED, email=("owner@x.io", "owner@x.io"))
    defaulted = add_event(sessions, EventType.DAG_RUN_FAILED, task_id=None)
    add_event(sessions, EventType.DEAD_LETTER_CREATED, email=())  # webhooks only
    notifier = notifier_for(smtp_server, alerts={"email": ["oncall@x.io", "lead@x.io"]})

    report = notifier.run_once(NOW)

    assert (report.planned, report.delivered) == (2, 2)
    by_event = {mail.message["X-Loom-Event-Id"]: mail for mail in smtp_server.messages}
    assert set(by_event) == {owned, defaulted}
    failed, run_failed = by_event[owned], by_event[defaulted]
    assert (failed.mail_from, failed.rcpt_tos) == ("loom@x.io", ["owner@x.io"])
    assert run_failed.rcpt_tos == ["oncall@x.io", "lead@x.io"]
    message = failed.message
    assert message["Subject"] == "[Loom] Task etl.extract failed (try 2 of 2)"
    assert (message["From"], message["To"]) == ("loom@x.io", "owner@x.io")
    assert message["Message-ID"] == f"<{owned}@loom.alerts>"
    assert message["X-Loom-Event"] == "task.failed"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert f"Open in Loom: {TASK_URL}" in text.get_content()
    assert "Error:         ValueError: bad row 7" in text.get_content()
    assert TASK_URL in html.get_content()
    assert RUN_URL in (run_failed.message.get_body(("plain",)) or text).get_content()
    email_rows = [d for d in deliveries(sessions) if d.channel == "email"]
    assert {(d.target, tuple(d.recipients), d.status) for d in email_rows} == {
        ("smtp", ("owner@x.io",), DeliveryStatus.DELIVERED),
        ("smtp", ("oncall@x.io", "lead@x.io"), DeliveryStatus.DELIVERED),
    }


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["starttls", "ssl"])
# aiosmtpd counts only STARTTLS as TLS for AUTH, and warns when told to allow AUTH without
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_tls_and_login(
    sessions: Sessions, notifier_for: MakeNotifier, tmp_path: Path, mode: str
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = self_signed_certificate(tmp_path)
    tls = server_tls(cert, key)
    options: dict[str, Any] = {"authenticator": login_checker("loom", "s3cret")}
    if mode == "starttls":
        options |= {"tls_context": tls, "require_starttls": True, "auth_required": True}
    else:
        options |= {"ssl_context": tls, "auth_required": True, "auth_require_tls": False}
    with serving(SmtpServer(free_port(), **options)) as server:
        add_event(sessions, email=("owner@x.io",))
        notifier = notifier_for(
            server,
            trust=ssl.create_default_context(cafile=str(cert)),
            user="loom",
            password="s3cret",
            starttls=mode == "starttls",
            ssl=mode == "ssl",
        )
        assert notifier.run_once(NOW).delivered == 1
    assert [mail.rcpt_tos for mail in server.messages] == [["owner@x.io"]]


@pytest.mark.postgres
def test_refusals_temporary_and_permanent(
    sessions: Sessions, smtp_server: SmtpServer, notifier_for: MakeNotifier
) -> None:
    smtp_server.mailbox.refused = {"gone@x.io"}
    smtp_server.mailbox.data_replies.append("451 4.3.0 try again later")
    add_event(sessions, email=("owner@x.io", "gone@x.io"))
    add_event(sessions, email=("gone@x.io",), now=NOW + SEC)
    notifier = notifier_for(smtp_server)

    first = notifier.run_once(NOW + SEC)

    assert (first.retrying, first.given_up) == (1, 0)  # 451: retried; the other waits (held)
    assert notifier.run_once(NOW + 3 * SEC).tried == 2
    partial, refused = deliveries(sessions)
    assert (partial.status, partial.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert "refused by the server: gone@x.io" in (partial.last_error or "")
    assert (refused.status, refused.attempts) == (DeliveryStatus.FAILED, 1)
    assert "every recipient refused: gone@x.io (550" in (refused.last_error or "")
    assert [mail.rcpt_tos for mail in smtp_server.messages] == [["owner@x.io"]]


@pytest.mark.postgres
def test_an_smtp_outage_then_recovery_sends_each_event_once(
    sessions: Sessions, smtp_server: SmtpServer, notifier_for: MakeNotifier
) -> None:
    notifier = notifier_for(smtp_server)
    smtp_server.stop()
    sent = {add_event(sessions, email=("owner@x.io",)) for _ in range(2)}

    down = notifier.run_once(NOW)
    assert (down.retrying, down.held) == (1, 1)
    assert all(d.attempts == 0 and d.status is DeliveryStatus.PENDING for d in deliveries(sessions))
    assert "cannot reach SMTP server 127.0.0.1" in (deliveries(sessions)[0].last_error or "")

    smtp_server.start()
    assert notifier.run_once(NOW + 5 * SEC).delivered == 2
    restarted = notifier_for(smtp_server)
    assert restarted.run_once(NOW + timedelta(hours=1)).tried == 0
    assert sorted(m.message["X-Loom-Event-Id"] for m in smtp_server.messages) == sorted(sent)
