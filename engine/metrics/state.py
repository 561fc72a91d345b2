"""What the database and Redis hold, read when Prometheus scrapes.

Gauges of shared state are computed at scrape time from the source of truth rather than
tracked by each process, so they are right whatever process changed the state and after
any restart. A failing read never fails the scrape: ``loom_state_read_ok{source}`` says 0
and the error is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from engine.models import (
    DagRun,
    DeadLetter,
    DeliveryStatus,
    OutboxMessage,
    ParseImportError,
    TaskInstance,
)
from engine.models.operations import DeadLetterState, OutboxKind
from engine.priority import QUEUE_NAMES
from engine.state import DagRunState, TaskInstanceState

logger = logging.getLogger(__name__)


class StateSource(Protocol):
    """One place state is read from: ``name`` labels its ``loom_state_read_ok`` sample."""

    name: str

    def read(self) -> list[Metric]: ...


class StateCollector(Collector):
    """The metrics of each source, and whether each could be read."""

    def __init__(self, sources: Sequence[StateSource]) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        read_ok = GaugeMetricFamily(
            "loom_state_read_ok",
            "1 when the last read of a state source succeeded.",
            labels=["source"],
        )
        for source in self._sources:
            try:
                metrics = source.read()
            except Exception:
                logger.exception("could not read the %s for /metrics", source.name)
                read_ok.add_metric([source.name], 0.0)
                continue
            yield from metrics
            read_ok.add_metric([source.name], 1.0)
        yield read_ok


_BY_STATE: tuple[tuple[str, str, Any, type[StrEnum]], ...] = (
    ("loom_dag_runs", "Dag runs by state.", DagRun.state, DagRunState),
    ("loom_task_instances", "Task instances by state.", TaskInstance.state, TaskInstanceState),
    (
        "loom_dead_letters",
        "Dead letters by state (pending ones wait for an operator).",
        DeadLetter.state,
        DeadLetterState,
    ),
)
"""The gauges that count rows by state: name, help, state column, its states."""


class DatabaseState:
    """Runs and task instances by state, dead letters, outbox backlog, import errors."""

    name = "database"

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def read(self) -> list[Metric]:
        with self._engine.connect() as connection:
            return list(self._read(connection))

    def _read(self, connection: sa.Connection) -> Iterator[Metric]:
        for name, documentation, column, states in _BY_STATE:
            counts = _counts(connection, column)
            yield _by_label(name, documentation, "state", counts, [s.value for s in states])
        pending = OutboxMessage.state == DeliveryStatus.PENDING
        yield _by_label(
            "loom_outbox_backlog",
            "Outbox messages not yet delivered, by kind.",
            "kind",
            _counts(connection, OutboxMessage.kind, pending),
            [k.value for k in OutboxKind],
        )
        oldest = dict(
            connection.execute(
                sa.select(OutboxMessage.kind, sa.func.min(OutboxMessage.created_at))
                .where(pending)
                .group_by(OutboxMessage.kind)
            ).all()
        )
        now = self._clock()
        ages = {
            _label(kind): max((now - _aware(created)).total_seconds(), 0.0)
            for kind, created in oldest.items()
        }
        yield _by_label(
            "loom_outbox_oldest_age_seconds",
            "Age of the oldest undelivered outbox message, by kind (0 when none waits).",
            "kind",
            ages,
            [k.value for k in OutboxKind],
        )
        errors = connection.scalar(sa.select(sa.func.count()).select_from(ParseImportError))
        gauge = GaugeMetricFamily("loom_parse_errors", "DAG files that currently fail to import.")
        gauge.add_metric([], float(errors or 0))
        yield gauge


class QueueDepths:
    """Jobs waiting in each RQ queue (``loom.high``, ``loom.default``, ``loom.low``)."""

    name = "redis"

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._connection: Any = None

    def read(self) -> list[Metric]:
        from engine.runtime.redisconn import connect  # only the rq executor has Redis to read

        if self._connection is None:
            self._connection = connect(self._redis_url, socket_timeout=2)
        depths = {name: float(self._connection.llen(f"rq:queue:{name}")) for name in QUEUE_NAMES}
        return [
            _by_label(
                "loom_queue_depth", "Jobs waiting in each RQ queue.", "queue", depths, QUEUE_NAMES
            )
        ]


def _counts(
    connection: sa.Connection, column: Any, *where: sa.ColumnElement[bool]
) -> dict[str, float]:
    rows = connection.execute(sa.select(column, sa.func.count()).where(*where).group_by(column))
    return {_label(value): float(count) for value, count in rows}


def _by_label(
    name: str, documentation: str, label: str, values: dict[str, float], known: Any
) -> GaugeMetricFamily:
    """A gauge with one sample per known label value (0 when absent), and any others."""
    gauge = GaugeMetricFamily(name, documentation, labels=[label])
    for value in dict.fromkeys([*known, *values]):
        gauge.add_metric([value], values.get(value, 0.0))
    return gauge


def _label(value: Any) -> str:
    return str(getattr(value, "value", value))


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
