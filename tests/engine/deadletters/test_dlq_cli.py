"""``loom dlq`` on a migrated SQLite database (and with a real RabbitMQ configured)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from engine.cli import dlq_cmd
from engine.cli.main import cli
from engine.delivery.relay import make_relay
from engine.models import DeadLetter, DeadLetterState, DeliveryStatus, OutboxMessage
from engine.models.session import create_db_engine, make_session_factory

from .conftest import NOW, RUN_ID, Broker, add_dead_letter

cli.add_command(dlq_cmd.group)


@pytest.fixture
def ids(seeded_sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Two pending dead letters in the database the CLI uses (``sqlite_url``'s file)."""
    monkeypatch.setenv("LOOM__DATABASE__URL", seeded_sqlite_url)
    engine = create_db_engine(seeded_sqlite_url)
    try:
        with make_session_factory(engine).begin() as session:
            return [add_dead_letter(session).id, add_dead_letter(session, run_id="manual__2").id]
    finally:
        engine.dispose()


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["dlq", *args])


def test_list_as_table_and_json(ids: list[int]) -> None:
    result = invoke("list")
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert header.split() == dlq_cmd.LIST_COLUMNS
    assert [line.split()[0] for line in lines] == [str(i) for i in reversed(ids)]
    assert "ValueError" in lines[0]

    result = invoke("list", "--output", "json", "--state", "pending")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [row["id"] for row in data] == list(reversed(ids))
    assert data[1]["run_id"] == RUN_ID
    assert invoke("list", "--state", "replayed").output.strip() == "(none)"


def test_show(ids: list[int]) -> None:
    result = invoke("show", str(ids[0]))
    assert result.exit_code == 0, result.output
    assert "bad row 42" in result.output
    assert "Traceback (most recent call last)" in result.output

    data = json.loads(invoke("show", str(ids[0]), "-o", "json").output)
    assert data["payload"]["error"]["message"] == "bad row 42"
    assert (data["state"], data["worker_host"]) == ("pending", "worker-1")


@pytest.mark.parametrize("command", ["show", "replay", "discard"])
def test_an_unknown_id_is_a_clear_error(ids: list[int], command: str) -> None:
    result = invoke(command, "999")
    assert result.exit_code == 1
    assert "dead letter 999 not found" in result.output


def test_replay_and_discard(ids: list[int], sqlite_url: str) -> None:
    result = invoke("replay", str(ids[0]))
    assert result.exit_code == 0, result.output
    assert f"replayed dead letter {ids[0]}: etl.{RUN_ID}.extract will run again" in result.output
    result = invoke("discard", str(ids[1]))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"discarded dead letter {ids[1]}"

    result = invoke("replay", str(ids[0]))
    assert result.exit_code == 1
    assert f"dead letter {ids[0]} is replayed already" in result.output

    engine = create_db_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        states = [session.get_one(DeadLetter, i).state for i in ids]
        assert states == [DeadLetterState.REPLAYED, DeadLetterState.DISCARDED]
        assert session.get_one(DeadLetter, ids[0]).resolved_by.startswith("cli")  # type: ignore[union-attr]
        # no broker configured: the CLI's relay pass settled every outbox row in the database
        assert {m.state for m in session.query(OutboxMessage)} == {DeliveryStatus.DELIVERED}
    engine.dispose()


@pytest.mark.rabbitmq
def test_replay_removes_the_message_from_rabbitmq(
    ids: list[int], sqlite_url: str, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.delivery.amqp import RabbitPublisher

    engine = create_db_engine(sqlite_url)
    publisher = RabbitPublisher(broker.url, exchange=broker.exchange, queue=broker.queue)
    try:
        relay = make_relay(session_factory=make_session_factory(engine), publisher=publisher)
        assert relay.run_once(NOW).published == 2
    finally:
        publisher.close()
        engine.dispose()
    monkeypatch.setenv("LOOM__DLQ__AMQP_URL", broker.url)
    monkeypatch.setenv("LOOM__DLQ__EXCHANGE", broker.exchange)
    monkeypatch.setenv("LOOM__DLQ__QUEUE", broker.queue)

    result = invoke("replay", str(ids[0]))
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    assert [p.message_id for p, _body in broker.get_all()] == [str(ids[1])]
