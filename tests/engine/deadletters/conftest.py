"""Databases with one failed run in them, and a RabbitMQ exchange and queue of each test's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pika
import pytest
from sqlalchemy.orm import Session, sessionmaker

from engine import DAG, EmptyOperator
from engine.authoring.serialization import dag_hash, serialize_dag
from engine.models import (
    Dag,
    DagRun,
    DagRunType,
    DeadLetter,
    SerializedDag,
    TaskInstance,
)
from engine.services.deadletters import record_dead_letter
from engine.state import DagRunState, TaskInstanceState
from tests.support.services import delete_rabbitmq_topology

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
CLOSED_PORT_URL = "amqp://guest:guest@127.0.0.1:5999/"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RUN_ID = "manual__2026-03-01T12:00:00+00:00"


@pytest.fixture
def session_factory(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions on a migrated, seeded database (SQLite, then PostgreSQL)."""
    return sessions


@dataclass(frozen=True)
class Broker:
    """An exchange and a queue of one test's own on the real RabbitMQ."""

    url: str
    exchange: str
    queue: str

    def get_all(self) -> list[tuple[pika.BasicProperties, bytes]]:
        """Take every message off the queue (acknowledged), in order."""
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = connection.channel()
            messages: list[tuple[pika.BasicProperties, bytes]] = []
            while True:
                method, properties, body = channel.basic_get(self.queue, auto_ack=True)
                if method is None:
                    return messages
                messages.append((properties, body))
        finally:
            connection.close()


@pytest.fixture
def broker() -> Iterator[Broker]:
    suffix = uuid.uuid4().hex[:12]
    names = Broker(AMQP_URL, f"loom.dlx.test-{suffix}", f"loom.dead_letters.test-{suffix}")
    yield names
    delete_rabbitmq_topology(AMQP_URL, exchange=names.exchange, queue=names.queue)


def add_failed_run(
    session: Session, *, dag_id: str = "etl", retries: int = 2, run_id: str = RUN_ID
) -> tuple[DagRun, TaskInstance, TaskInstance]:
    """DAG ``extract >> load``: ``extract`` failed after all its tries, ``load`` upstream_failed."""
    if session.get(Dag, dag_id) is None:
        with DAG(dag_id, schedule=None, start_date=NOW) as dag:
            EmptyOperator(task_id="extract", retries=retries) >> EmptyOperator(task_id="load")
        data = serialize_dag(dag)
        session.add(Dag(dag_id=dag_id, fileloc=dag.fileloc))
        session.add(
            SerializedDag(
                dag_id=dag_id,
                data=data,
                dag_hash=dag_hash(data),
                fileloc=dag.fileloc,
                file_hash="0" * 64,
            )
        )
    run = DagRun(
        dag_id=dag_id,
        run_id=run_id,
        logical_date=NOW,
        run_type=DagRunType.MANUAL,
        state=DagRunState.FAILED,
        conf={"region": "eu"},
        start_date=NOW - timedelta(minutes=10),
        end_date=NOW,
    )
    extract = TaskInstance(
        dag_id=dag_id, run_id=run_id, task_id="extract", state=TaskInstanceState.FAILED,
        try_number=retries + 1, max_tries=retries + 1, end_date=NOW,
    )  # fmt: skip
    load = TaskInstance(
        dag_id=dag_id, run_id=run_id, task_id="load", state=TaskInstanceState.UPSTREAM_FAILED,
        try_number=0, max_tries=1,
    )  # fmt: skip
    run.task_instances = [extract, load]
    session.add(run)
    session.flush()
    return run, extract, load


def add_dead_letter(session: Session, **kwargs: str | int) -> DeadLetter:
    """A failed run (see :func:`add_failed_run`) and the dead letter of its ``extract``."""
    run, extract, _load = add_failed_run(session, **kwargs)  # type: ignore[arg-type]
    return record_dead_letter(
        session=session,
        ti=extract,
        dag_run=run,
        error_type="ValueError",
        message="bad row 42",
        traceback="Traceback (most recent call last):\n  ...\nValueError: bad row 42\n",
        worker_host="worker-1",
        now=NOW,
    )


@pytest.fixture
def dead_letter_id(session_factory: sessionmaker[Session]) -> int:
    """The id of a committed dead letter (see :func:`add_dead_letter`)."""
    with session_factory.begin() as session:
        return add_dead_letter(session).id
