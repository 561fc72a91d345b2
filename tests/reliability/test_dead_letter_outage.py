"""RabbitMQ down when tasks dead-letter: the relay publishes once it is back, and loses nothing.

The outage is simulated with a scheduler pointed at a closed port (the machine's broker
is shared and stays up); the recovery uses the real broker, with an exchange and a queue
of this test's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pika
import pytest

from tests.support.processes import wait_until
from tests.support.services import delete_rabbitmq_topology

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
    delete_rabbitmq_topology(AMQP_URL, exchange=names[0], queue=names[1])


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
    loom: Loom, topology: tuple[str, str]
) -> None:
    """``loom scheduler`` runs the relay: while its broker is unreachable the dead letters
    wait in the outbox; a scheduler that reaches the broker publishes each exactly once."""
    exchange, queue = topology
    loom.env.update(LOOM__DLQ__EXCHANGE=exchange, LOOM__DLQ__QUEUE=queue)
    loom.add_dag("doomed", DAG)
    loom.reparse()
    outage = loom.scheduler_with(LOOM__DLQ__AMQP_URL=CLOSED_PORT_URL)
    loom.worker("--no-fork")
    loom.trigger("doomed", "--run-id", "r1")
    assert loom.wait_runs("doomed", 1, timeout=30) == {"r1": "failed"}
    dead = [r.id for r in loom.db.rows("SELECT id FROM dead_letter ORDER BY id")]
    assert len(dead) == 2
    outbox = "SELECT state, attempts FROM outbox WHERE kind = 'dead_letter' ORDER BY id"

    def tried_and_waiting() -> bool:
        rows = loom.db.rows(outbox)
        return len(rows) == 2 and all(r.state == "pending" and r.attempts >= 1 for r in rows)

    wait_until(tried_and_waiting, 30, what="the relay to try and fail to publish")
    assert loom.db.scalar("SELECT count(*) FROM dead_letter WHERE published") == 0
    loom.processes.stop(outage)

    # The broker is back: the next scheduler's relay publishes what waited (its backoff
    # has passed by then: make the rows due now rather than wait for it).
    loom.db.execute("UPDATE outbox SET available_at = now() WHERE kind = 'dead_letter'")
    loom.scheduler_with(LOOM__DLQ__AMQP_URL=AMQP_URL)
    wait_until(
        lambda: loom.db.scalar("SELECT count(*) FROM dead_letter WHERE published") == 2,
        30,
        what="both dead letters published",
    )
    assert _drain(queue) == [str(i) for i in dead], "exactly one message per dead letter"
    assert [r.state for r in loom.db.rows(outbox)] == ["delivered"] * 2
