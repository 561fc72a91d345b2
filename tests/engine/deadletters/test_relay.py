"""The relay against a real RabbitMQ (and without one: dead letters stay in the database)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.delivery.amqp import DeliveryError, RabbitPublisher
from engine.delivery.dispatcher import DispatchReport
from engine.delivery.outbox import enqueue
from engine.delivery.relay import make_relay
from engine.models import DeadLetter, DeliveryStatus, OutboxKind, OutboxMessage
from engine.services.deadletters import discard_dead_letter, replay_dead_letter

from .conftest import CLOSED_PORT_URL, NOW, RUN_ID, Broker, add_dead_letter


def publisher_for(broker: Broker, url: str | None = None) -> RabbitPublisher:
    return RabbitPublisher(url or broker.url, exchange=broker.exchange, queue=broker.queue)


def rows(session_factory: sessionmaker[Session]) -> list[OutboxMessage]:
    with session_factory() as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def dead_letter(session_factory: sessionmaker[Session], dead_letter_id: int) -> DeadLetter:
    with session_factory() as session:
        return session.get_one(DeadLetter, dead_letter_id)


def test_without_a_broker_dead_letters_stay_in_the_database(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        dead_letter_id = add_dead_letter(session).id
        email = enqueue(
            session=session, kind=OutboxKind.NOTIFICATION, payload={}, dedup_key=None, now=NOW
        ).id
    report = make_relay(session_factory=session_factory, publisher=None).run_once(NOW)
    assert report == DispatchReport(claimed=1, kept_in_database=1)
    states = {row.id: row.state for row in rows(session_factory)}
    assert states[email] == DeliveryStatus.PENDING  # other kinds are another dispatcher's
    assert DeliveryStatus.DELIVERED in states.values()
    assert dead_letter(session_factory, dead_letter_id).published is False


@pytest.mark.rabbitmq
def test_the_relay_publishes_a_persistent_json_message(
    session_factory: sessionmaker[Session], broker: Broker, dead_letter_id: int
) -> None:
    relay = make_relay(session_factory=session_factory, publisher=publisher_for(broker))
    try:
        assert relay.run_once(NOW) == DispatchReport(claimed=1, published=1)
        assert relay.run_once(NOW + timedelta(minutes=1)) == DispatchReport()
    finally:
        relay.close()
    [(properties, body)] = broker.get_all()
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"
    assert properties.message_id == str(dead_letter_id)
    message = json.loads(body)
    assert message == dead_letter(session_factory, dead_letter_id).payload
    assert set(message) == {
        "schema_version", "dead_letter_id", "dag_id", "run_id", "task_id", "map_index",
        "try_number",
        "error", "conf", "logical_date", "failed_at", "run_started_at", "worker_host",
    }  # fmt: skip
    assert (message["schema_version"], message["run_id"], message["error"]["type"]) == (
        1, RUN_ID, "ValueError",
    )  # fmt: skip
    assert dead_letter(session_factory, dead_letter_id).published is True
    [row] = rows(session_factory)
    assert (row.state, row.delivered_at, row.attempts) == (DeliveryStatus.DELIVERED, NOW, 0)


@pytest.mark.rabbitmq
def test_enqueuing_the_same_publication_twice_sends_one_message(
    session_factory: sessionmaker[Session], broker: Broker, dead_letter_id: int
) -> None:
    with session_factory.begin() as session:
        row = session.scalars(sa.select(OutboxMessage)).one()
        again = enqueue(
            session=session, kind=OutboxKind.DEAD_LETTER, payload=row.payload,
            dedup_key=f"dead_letter:{dead_letter_id}", now=NOW,
        )  # fmt: skip
        assert again.id == row.id
    publisher = publisher_for(broker)
    try:
        make_relay(session_factory=session_factory, publisher=publisher).run_once(NOW)
    finally:
        publisher.close()
    assert len(broker.get_all()) == 1


@pytest.mark.rabbitmq
def test_a_broker_outage_delays_delivery_and_loses_nothing(
    session_factory: sessionmaker[Session],
    broker: Broker,
    caplog: pytest.LogCaptureFixture,
    dead_letter_id: int,
) -> None:
    down = make_relay(
        session_factory=session_factory, publisher=publisher_for(broker, CLOSED_PORT_URL)
    )
    assert down.run_once(NOW) == DispatchReport(claimed=1, failed=1)
    assert "outbox message 1 (publish dead letter 1) failed" in caplog.text
    assert "Traceback" in caplog.text
    [row] = rows(session_factory)
    assert (row.state, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert row.available_at == NOW + timedelta(seconds=2)
    assert "DeliveryError" in (row.last_error or "")
    assert "127.0.0.1:5999" in (row.last_error or "")
    assert down.run_once(NOW + timedelta(seconds=1)) == DispatchReport()  # backing off
    assert down.run_once(NOW + timedelta(seconds=2)) == DispatchReport(claimed=1, failed=1)
    [row] = rows(session_factory)
    assert (row.attempts, row.available_at) == (2, NOW + timedelta(seconds=6))

    up = publisher_for(broker)
    relay = make_relay(session_factory=session_factory, publisher=up)
    try:
        assert relay.run_once(NOW + timedelta(seconds=6)) == DispatchReport(claimed=1, published=1)
        assert relay.run_once(NOW + timedelta(hours=1)) == DispatchReport()
    finally:
        up.close()
    [(properties, _body)] = broker.get_all()
    assert properties.message_id == str(dead_letter_id)
    assert dead_letter(session_factory, dead_letter_id).published is True


@pytest.mark.rabbitmq
def test_remove_message_takes_exactly_the_matching_one_and_keeps_the_order(
    broker: Broker,
) -> None:
    publisher = publisher_for(broker)
    try:
        for dead_letter_id in (1, 2, 3, 2, 4):
            publisher.publish(dead_letter_id, {"dead_letter_id": dead_letter_id})
        assert publisher.remove_message(2) is True
        assert publisher.remove_message(99) is False
    finally:
        publisher.close()
    assert [p.message_id for p, _body in broker.get_all()] == ["1", "3", "4"]


@pytest.mark.rabbitmq
def test_a_publisher_reconnects_after_its_connection_was_closed(broker: Broker) -> None:
    publisher = publisher_for(broker)
    try:
        publisher.publish(1, {})
        assert publisher._connection is not None
        publisher._connection.close()  # as a broker restart would
        publisher.publish(2, {})
    finally:
        publisher.close()
    assert [p.message_id for p, _body in broker.get_all()] == ["1", "2"]


@pytest.mark.rabbitmq
def test_a_closed_port_raises_delivery_error() -> None:
    publisher = RabbitPublisher(CLOSED_PORT_URL, exchange="unused", queue="unused")
    with pytest.raises(DeliveryError, match=r"publish dead letter 1 via amqp://127\.0\.0\.1:5999"):
        publisher.publish(1, {})


@pytest.mark.rabbitmq
@pytest.mark.parametrize("resolve", [replay_dead_letter, discard_dead_letter])
def test_replay_and_discard_remove_the_message_from_the_queue(
    session_factory: sessionmaker[Session], broker: Broker, resolve: object
) -> None:
    with session_factory.begin() as session:
        first = add_dead_letter(session).id
        second = add_dead_letter(session, run_id="manual__2").id
    publisher = publisher_for(broker)
    relay = make_relay(session_factory=session_factory, publisher=publisher)
    try:
        assert relay.run_once(NOW).published == 2
        with session_factory.begin() as session:
            resolve(session=session, id=first, now=NOW, by="ada")  # type: ignore[operator]
        assert relay.run_once(NOW) == DispatchReport(claimed=1, removed=1)
    finally:
        publisher.close()
    assert [p.message_id for p, _body in broker.get_all()] == [str(second)]


@pytest.mark.rabbitmq
def test_a_dead_letter_resolved_before_publication_is_never_sent(
    session_factory: sessionmaker[Session], broker: Broker
) -> None:
    with session_factory.begin() as session:
        dead_letter_id = add_dead_letter(session).id
        discard_dead_letter(session=session, id=dead_letter_id, now=NOW, by="ada")
    publisher = publisher_for(broker)
    try:
        report = make_relay(session_factory=session_factory, publisher=publisher).run_once(NOW)
    finally:
        publisher.close()
    assert report == DispatchReport(claimed=2, kept_in_database=2)
    assert broker.get_all() == []
    assert dead_letter(session_factory, dead_letter_id).published is False


@pytest.mark.rabbitmq
def test_run_loops_until_stopped(session_factory: sessionmaker[Session], broker: Broker) -> None:
    with session_factory.begin() as session:
        add_dead_letter(session)
    stop = threading.Event()
    relay = make_relay(
        session_factory=session_factory, publisher=publisher_for(broker), clock=lambda: NOW
    )
    thread = threading.Thread(target=relay.run, args=(stop, 0.05))
    thread.start()
    try:
        for _ in range(100):
            if rows(session_factory)[0].state == DeliveryStatus.DELIVERED:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(broker.get_all()) == 1
    assert relay.pass_errors == 0


@pytest.mark.rabbitmq
def test_a_removal_waits_for_a_publication_still_in_flight(
    session_factory: sessionmaker[Session], broker: Broker, dead_letter_id: int
) -> None:
    down = make_relay(
        session_factory=session_factory, publisher=publisher_for(broker, CLOSED_PORT_URL)
    )
    assert down.run_once(NOW).failed == 1  # the publication backs off until NOW + 2 s
    with session_factory.begin() as session:
        discard_dead_letter(session=session, id=dead_letter_id, now=NOW, by="ada")
    publisher = publisher_for(broker)
    relay = make_relay(session_factory=session_factory, publisher=publisher)
    try:
        assert relay.run_once(NOW) == DispatchReport(claimed=1, failed=1)
        remove = rows(session_factory)[1]
        assert "still being published" in (remove.last_error or "")
        later = NOW + timedelta(seconds=2)
        assert relay.run_once(later) == DispatchReport(claimed=2, kept_in_database=2)
    finally:
        publisher.close()
    assert broker.get_all() == []
    assert {row.state for row in rows(session_factory)} == {DeliveryStatus.DELIVERED}
