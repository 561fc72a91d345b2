"""Webhooks against a real local HTTP endpoint: signature, retries, give-up, outage."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.delivery.dispatcher import Dispatcher, DispatchReport
from engine.delivery.notifications import build_notifier, verify_signature
from engine.delivery.notifications.notifier import ChannelSender
from engine.models import DeliveryStatus
from tests.engine.notifications.conftest import (
    BASE_URL,
    NOW,
    SECRET,
    Receiver,
    Reply,
    Sessions,
    add_event,
    alert_settings,
    deliveries,
)

pytestmark = pytest.mark.postgres
SEC = timedelta(seconds=1)


MakeNotifier = Callable[..., Dispatcher]


@pytest.fixture
def notifier_for(
    postgres_url: str, sessions: Sessions, receiver: Receiver, tmp_path: Path
) -> MakeNotifier:
    """``notifier_for(**webhook_settings)``: a notifier whose webhook ``ops`` is ``receiver``."""

    def make(**hook: Any) -> Dispatcher:
        webhook = {"url": receiver.url, "secret": SECRET, "timeout": "1s", **hook}
        settings = alert_settings(postgres_url, tmp_path / "home", webhooks={"ops": webhook})
        return build_notifier(settings, sessions, clock=lambda: NOW)

    return make


def test_a_signed_json_post_that_a_receiver_verifies(
    sessions: Sessions, receiver: Receiver, notifier_for: MakeNotifier
) -> None:
    event_id = add_event(sessions, notify=("ops",))

    report = notifier_for().run_once(NOW)

    assert report == DispatchReport(claimed=1, events=1, planned=1, delivered=1)
    [request] = receiver.requests
    headers, body = request.headers, request.body
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Loom-Event"] == "task.failed"
    assert headers["X-Loom-Event-Id"] == headers["Idempotency-Key"] == event_id
    assert headers["X-Loom-Delivery-Attempt"] == "1"
    assert headers["X-Loom-Timestamp"] == str(int(NOW.timestamp()))
    # The documented algorithm, written out: hex HMAC-SHA256 of "<timestamp>." + raw body.
    signed = headers["X-Loom-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Loom-Signature"], expected)
    assert verify_signature(
        SECRET, timestamp=headers["X-Loom-Timestamp"], body=body,
        signature=headers["X-Loom-Signature"], now=NOW + 10 * SEC,
    )  # fmt: skip
    assert not verify_signature(
        SECRET, timestamp=headers["X-Loom-Timestamp"], body=body + b" ",
        signature=headers["X-Loom-Signature"], now=NOW,
    )  # fmt: skip
    assert not verify_signature(  # a replay ten minutes later
        SECRET, timestamp=headers["X-Loom-Timestamp"], body=body,
        signature=headers["X-Loom-Signature"], now=NOW + timedelta(minutes=10),
    )  # fmt: skip
    payload = json.loads(body)
    assert payload["schema_version"] == 1
    assert payload["event_id"] == event_id
    assert (payload["dag_id"], payload["task_id"], payload["try_number"]) == ("etl", "extract", 2)
    assert payload["error"] == {"type": "ValueError", "message": "bad row 7"}
    assert payload["url"] == (
        f"{BASE_URL}/dags/etl/runs/manual__2026-03-01T06%3A00%3A00%2B00%3A00/tasks/extract"
    )
    [delivery] = deliveries(sessions)
    assert (delivery.channel, delivery.target, delivery.status, delivery.attempts) == (
        "webhook", "ops", DeliveryStatus.DELIVERED, 1,
    )  # fmt: skip
    assert delivery.delivered_at == NOW


def test_500_is_retried_with_backoff_and_the_same_event_id_and_body(
    sessions: Sessions, receiver: Receiver, notifier_for: MakeNotifier
) -> None:
    add_event(sessions, notify=("ops",))
    receiver.answer(Reply(500), Reply(503))
    notifier = notifier_for()

    assert notifier.run_once(NOW).retrying == 1
    [delivery] = deliveries(sessions)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.next_attempt_at == NOW + 2 * SEC
    assert "HTTP 500" in (delivery.last_error or "")
    assert notifier.run_once(NOW + SEC).tried == 0  # backing off
    assert notifier.run_once(NOW + 2 * SEC).retrying == 1
    assert deliveries(sessions)[0].next_attempt_at == NOW + 6 * SEC  # 2 s, then 4 s
    assert notifier.run_once(NOW + 6 * SEC).delivered == 1

    assert len(receiver.requests) == 3
    assert len(set(receiver.event_ids())) == 1
    assert len({request.body for request in receiver.requests}) == 1
    assert [r.headers["X-Loom-Delivery-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert deliveries(sessions)[0].attempts == 3


def test_a_timeout_is_retried(
    sessions: Sessions, receiver: Receiver, notifier_for: MakeNotifier
) -> None:
    add_event(sessions, notify=("ops",))
    receiver.answer(Reply(delay=1.0))
    notifier = notifier_for(timeout="0.2s")

    assert notifier.run_once(NOW).retrying == 1
    [delivery] = deliveries(sessions)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert "timed out" in (delivery.last_error or "")
    assert notifier.run_once(NOW + 2 * SEC).delivered == 1
    assert len(receiver.requests) == 2


def test_400_gives_up_at_once(
    sessions: Sessions, receiver: Receiver, notifier_for: MakeNotifier
) -> None:
    add_event(sessions, notify=("ops",))
    receiver.answer(Reply(400))
    notifier = notifier_for()

    assert notifier.run_once(NOW).given_up == 1
    assert notifier.run_once(NOW + timedelta(hours=1)).tried == 0
    assert len(receiver.requests) == 1
    [delivery] = deliveries(sessions)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert (delivery.last_error or "").startswith("HTTP 400 from")


def test_429_honours_retry_after_and_max_attempts_gives_up(
    sessions: Sessions, receiver: Receiver, notifier_for: MakeNotifier
) -> None:
    add_event(sessions, notify=("ops",))
    receiver.answer(Reply(429, headers={"Retry-After": "30"}), Reply(500))
    notifier = notifier_for(max_attempts=2)

    assert notifier.run_once(NOW).retrying == 1
    assert deliveries(sessions)[0].next_attempt_at == NOW + 30 * SEC
    assert notifier.run_once(NOW + 30 * SEC).given_up == 1
    [delivery] = deliveries(sessions)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    assert "given up after 2 attempts" in (delivery.last_error or "")


def test_an_outage_then_recovery_delivers_every_event_exactly_once(
    sessions: Sessions, receiver: Receiver, notifier_for: MakeNotifier
) -> None:
    notifier = notifier_for()
    receiver.stop()
    sent = {add_event(sessions, notify=("ops",)) for _ in range(3)}

    report = notifier.run_once(NOW)
    assert (report.planned, report.retrying, report.held) == (3, 1, 2)  # one probe, two wait
    assert {(d.status, d.attempts) for d in deliveries(sessions)} == {(DeliveryStatus.PENDING, 0)}
    assert "cannot reach" in (deliveries(sessions)[0].last_error or "")
    assert notifier.run_once(NOW + 2 * SEC).retrying == 1  # still down: not counted
    assert notifier.run_once(NOW + 3 * SEC).tried == 0

    receiver.start()
    assert notifier.run_once(NOW + 10 * SEC).delivered == 3
    assert notifier.run_once(NOW + timedelta(hours=1)).tried == 0
    assert sorted(receiver.event_ids()) == sorted(sent)
    assert {(d.status, d.attempts) for d in deliveries(sessions)} == {(DeliveryStatus.DELIVERED, 1)}


def test_a_restarted_notifier_sends_nothing_twice(
    sessions: Sessions, receiver: Receiver, notifier_for: MakeNotifier
) -> None:
    add_event(sessions, notify=("ops",))
    add_event(sessions, notify=("ops",))
    first = notifier_for()
    assert first.run_once(NOW).delivered == 2
    add_event(sessions, notify=("ops",), now=NOW + SEC)

    restarted = notifier_for()
    assert restarted.run_once(NOW + SEC).delivered == 1
    assert restarted.run_once(NOW + timedelta(days=1)).tried == 0
    assert len(receiver.requests) == len(set(receiver.event_ids())) == 3


def test_a_claim_in_flight_is_left_alone_until_its_lease_runs_out(
    sessions: Sessions, receiver: Receiver, notifier_for: MakeNotifier
) -> None:
    from engine.delivery.notifications.deliveries import claim_next

    add_event(sessions, notify=("ops",))
    crashed = notifier_for()
    [sender] = crashed.follow_ups
    assert isinstance(sender, ChannelSender)
    crashed.dispatch_outbox(NOW, DispatchReport())  # the first step of a pass
    with sessions.begin() as session:  # claimed, then the process died before sending
        assert claim_next(session=session, now=NOW, until=NOW + sender.lease) is not None

    other = notifier_for()
    assert other.run_once(NOW + SEC).tried == 0
    assert other.run_once(NOW + sender.lease).delivered == 1
    assert len(receiver.requests) == 1


def test_unknown_webhook_names_and_event_filters(
    sessions: Sessions, receiver: Receiver, notifier_for: MakeNotifier
) -> None:
    add_event(sessions, notify=("ops", "nobody"))
    notifier = notifier_for(events=["dag_run.failed"])

    report = notifier.run_once(NOW)

    assert (report.planned, report.tried) == (1, 0)  # ops does not want task.failed
    [unknown] = deliveries(sessions)
    assert (unknown.target, unknown.status) == ("nobody", DeliveryStatus.FAILED)
    assert "no webhook named 'nobody'" in (unknown.last_error or "")
    assert receiver.requests == []


HOOK_TAIL = "/services/T0/B0/hook-token?key=query-key"


def test_a_refusal_stores_and_logs_the_webhook_url_to_its_host_only(
    sessions: Sessions,
    receiver: Receiver,
    notifier_for: MakeNotifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The receiver echoes the URL it was called on (many do): neither the stored error
    nor the notifier's log may carry the path or query, which are the credential."""
    add_event(sessions, notify=("ops",))
    echo = f"no such hook: {receiver.url_with(HOOK_TAIL)} ({HOOK_TAIL})".encode()
    receiver.answer(Reply(404, body=echo))

    with caplog.at_level(logging.INFO, logger="engine.delivery.notifications"):
        assert notifier_for(url=receiver.url_with(HOOK_TAIL)).run_once(NOW).given_up == 1

    [delivery] = deliveries(sessions)
    error = delivery.last_error or ""
    host = f"http://127.0.0.1:{receiver.port}/***"
    assert error == f"HTTP 404 from {host}: no such hook: {host} (***)"
    for leaked in (error, caplog.text):
        assert "hook-token" not in leaked
        assert "query-key" not in leaked
    assert f"{host}: no such hook" in caplog.text


def test_an_unreachable_webhook_is_named_by_its_host_only(
    sessions: Sessions,
    receiver: Receiver,
    notifier_for: MakeNotifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_event(sessions, notify=("ops",))
    receiver.stop()
    url = f"http://hook:p@ss:w@127.0.0.1:{receiver.port}{HOOK_TAIL}"

    with caplog.at_level(logging.INFO, logger="engine.delivery.notifications"):
        assert notifier_for(url=url).run_once(NOW).retrying == 1

    error = deliveries(sessions)[0].last_error or ""
    assert error.startswith("cannot reach http://***@127.0.0.1:")
    for leaked in (error, caplog.text):
        for secret in ("p@ss", "ss:w", "hook-token", "query-key"):
            assert secret not in leaked
