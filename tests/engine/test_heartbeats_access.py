"""Scheduler heartbeats (for /health) and a user's combined access (per-DAG scope)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.models import Permission, Role, migrate
from engine.models.session import create_db_engine, make_session_factory
from engine.scheduling.heartbeats import latest_scheduler_heartbeat, record_scheduler_heartbeat
from engine.security.access import access_of
from engine.security.roles import Action, Resource

T0 = datetime(2026, 1, 2, tzinfo=UTC)


def test_heartbeats_update_one_row_per_scheduler_and_report_the_latest(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    db = create_db_engine(sqlite_url)
    sessions = make_session_factory(db)
    with sessions.begin() as session:
        assert latest_scheduler_heartbeat(session=session) is None
        record_scheduler_heartbeat(session=session, now=T0, id="a:1")
        record_scheduler_heartbeat(session=session, now=T0 + timedelta(seconds=5), id="a:1")
        record_scheduler_heartbeat(session=session, now=T0 + timedelta(seconds=2), id="b:2")
    with sessions() as session:
        assert latest_scheduler_heartbeat(session=session) == T0 + timedelta(seconds=5)
    db.dispose()


def _role(tags: list[str], *pairs: tuple[str, str]) -> Role:
    return Role(
        name="r", dag_tags=tags, permissions=[Permission(action=a, resource=r) for a, r in pairs]
    )


def test_access_unions_scopes_and_every_dag_wins() -> None:
    limited = _role(["etl"], ("read", "dags"), ("read", "pools"))
    other = _role(["finance"], ("read", "dags"), ("edit", "dag_runs"))
    access = access_of([limited, other])
    assert access.dag_scope(Action.READ, Resource.DAGS) == frozenset({"etl", "finance"})
    assert access.dag_scope(Action.READ, Resource.POOLS) is None  # pools belong to no DAG
    assert access.allows_dag(Action.EDIT, Resource.DAG_RUNS, ["finance"])
    assert not access.allows_dag(Action.EDIT, Resource.DAG_RUNS, ["etl"])
    assert not access.allows(Action.DELETE, Resource.DAGS)
    everything = access_of([limited, _role([], ("read", "dags"))])
    assert everything.dag_scope(Action.READ, Resource.DAGS) is None
