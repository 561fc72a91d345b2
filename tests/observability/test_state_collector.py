"""A state source that cannot be read never fails a scrape: it reads as 0 in
``loom_state_read_ok`` and the other sources still report."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest

from engine.metrics.state import DatabaseState, QueueDepths, StateCollector
from engine.timeutil import utcnow
from tests.observability.conftest import value
from tests.support.services import redis_url

pytestmark = pytest.mark.redis


def test_an_unreachable_database_reads_as_zero_and_redis_still_reports() -> None:
    closed = sa.create_engine(
        "postgresql+psycopg://loom@127.0.0.1:1/loom", connect_args={"connect_timeout": 2}
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        StateCollector([DatabaseState(closed, clock=utcnow), QueueDepths(redis_url(11))])
    )
    exposition = generate_latest(registry).decode()
    assert value(exposition, "loom_state_read_ok", source="database") == 0
    assert value(exposition, "loom_state_read_ok", source="redis") == 1
    assert "loom_queue_depth" in exposition
    assert "loom_dag_runs" not in exposition
