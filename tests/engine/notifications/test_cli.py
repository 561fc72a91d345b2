"""``loom notifier --once``: one pass from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import cli
from engine.models import DeliveryStatus, migrate
from engine.models.session import create_db_engine, make_session_factory
from tests.engine.notifications.conftest import Receiver, Reply, Sessions, add_event, deliveries
from tests.support.cli import loom


@pytest.fixture
def cli_sessions(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sessions]:
    """Sessions on a new SQLite database (not the suite's PostgreSQL): the one the commands
    use, where webhook ``ops`` posts to ``receiver``."""
    url = f"sqlite:///{tmp_path / 'loom.db'}"
    migrate.upgrade_and_seed(url)
    monkeypatch.setenv("LOOM__DATABASE__URL", url)
    monkeypatch.setenv("LOOM__WEBHOOKS__OPS__URL", receiver.url)
    engine = create_db_engine(url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def test_one_pass_delivers_and_reports(cli_sessions: Sessions, receiver: Receiver) -> None:
    add_event(cli_sessions, notify=("ops",))

    result = CliRunner().invoke(cli, ["notifier", "--once", "-o", "json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["events"], report["delivered"]) == (1, 1)
    assert len(receiver.requests) == 1
    assert "X-Loom-Signature" not in receiver.requests[0].headers  # no secret: unsigned


def test_retry_sends_a_given_up_delivery_again(cli_sessions: Sessions, receiver: Receiver) -> None:
    event_id = add_event(cli_sessions, notify=("ops",))
    receiver.answer(Reply(status=400, body=b"bad token"))  # refused for good: given up
    first = loom("notifier", "--once", "-o", "json")
    assert json.loads(first.output)["given_up"] == 1, first.output
    (failed,) = deliveries(cli_sessions)
    assert failed.status is DeliveryStatus.FAILED

    retried = loom("notifications", "retry", str(failed.id))
    assert retried.exit_code == 0, retried.output
    assert f"notification {failed.id} (task.failed event {event_id}" in retried.output
    (pending,) = deliveries(cli_sessions)
    assert (pending.status, pending.attempts) == (DeliveryStatus.PENDING, 0)

    second = loom("notifier", "--once", "-o", "json")
    assert json.loads(second.output)["delivered"] == 1, second.output
    (delivered,) = deliveries(cli_sessions)
    assert delivered.status is DeliveryStatus.DELIVERED
    assert receiver.event_ids() == [event_id, event_id]  # the same event, sent again

    again = loom("notifications", "retry", str(failed.id))
    assert again.exit_code == 1
    assert "is delivered: only a failed (given up) delivery can be retried" in again.output
    missing = loom("notifications", "retry", "999")
    assert missing.exit_code == 1
    assert "notification 999 not found" in missing.output
