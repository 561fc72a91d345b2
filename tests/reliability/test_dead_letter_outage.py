"""RabbitMQ down when tasks dead-letter: the relay publishes once it is back, and loses nothing.

The outage is simulated with a publisher pointed at a closed port (the machine's broker
is shared and stays up); the recovery uses the real broker, with an exchange and a queue
of this test's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pika
import pytest

from engine.amqp import RabbitPublisher, delete_topology
from engine.db import create_db_engine, make_session_factory
from engine.models import utcnow
from engine.relay import OutboxRelay, RelayReport

from .conftest import Loom

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.rabbitmq]

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
CLOSED_PORT_URL = "amqp://guest:guest@127.0.0.1:5999/"

DAG = """
from datetime import datetime

from engine import DAG, PythonOperator


def boom():
    raise ValueError("bad row")


with DAG("doomed", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    PythonOperator(task_id="one", python_callable=boom, retries=0)
    PythonOperator(task_id="two", python_callable=boom, retries=0)
"""


@pytest.fixture
def topology() -> Iterator[tuple[str, str]]:
    suffix = uuid.uuid4().hex[:12]
    names = (f"loom.dlx.test-{suffix}", f"loom.dead_letters.test-{suffix}")
    yield names
    delete_topology(AMQP_URL, exchange=names[0], queue=names[1])


def _drain(queue: str) -> list[str | None]:
    """Take every message off ``queue``; returns their message ids, in order."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        ids: list[str | None] = []
        while True:
            method, properties, _body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return ids
            ids.append(properties.message_id)
    finally:
        connection.close()


def test_dead_letters_wait_out_a_broker_outage_and_are_published_once(
    loom: Loom, postgres_url: str, topology: tuple[str, str]
) -> None:
    exchange, queue = topology
    loom.add_dag("doomed", DAG)
    loom.reparse()
    loom.scheduler()
    loom.worker("--no-fork")
    loom.trigger("doomed", "--run-id", "r1")
    assert loom.wait_runs("doomed", 1, timeout=30) == {"r1": "failed"}
    dead = [r.id for r in loom.db.rows("SELECT id FROM dead_letter ORDER BY id")]
    assert len(dead) == 2
    outbox = "SELECT state, attempts FROM outbox WHERE kind = 'dead_letter' ORDER BY id"
    assert [(r.state, r.attempts) for r in loom.db.rows(outbox)] == [("pending", 0)] * 2

    engine = create_db_engine(postgres_url)
    sessions = make_session_factory(engine)
    down = RabbitPublisher(CLOSED_PORT_URL, exchange=exchange, queue=queue)
    up = RabbitPublisher(AMQP_URL, exchange=exchange, queue=queue)
    try:
        now = utcnow()
        outage = OutboxRelay(session_factory=sessions, publisher=down)
        assert outage.run_once(now) == RelayReport(claimed=2, failed=2)
        assert outage.run_once(now + timedelta(seconds=2)) == RelayReport(claimed=2, failed=2)
        assert [(r.state, r.attempts) for r in loom.db.rows(outbox)] == [("pending", 2)] * 2
        assert loom.db.scalar("SELECT count(*) FROM dead_letter WHERE published") == 0

        back = OutboxRelay(session_factory=sessions, publisher=up)
        assert back.run_once(now + timedelta(minutes=5)) == RelayReport(claimed=2, published=2)
        assert back.run_once(now + timedelta(hours=1)) == RelayReport()
    finally:
        up.close()
        down.close()
        engine.dispose()

    assert _drain(queue) == [str(i) for i in dead], "exactly one message per dead letter"
    assert [r.state for r in loom.db.rows(outbox)] == ["delivered"] * 2
    assert loom.db.scalar("SELECT count(*) FROM dead_letter WHERE published") == 2
