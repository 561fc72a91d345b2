"""What the API reports about DAGs at a glance: their runs counted by state, and warnings
about DAGs that parse but will not run as written (a task in a pool that does not exist).

A missing pool is found when asked, from the graphs as last parsed and the pools as they
are now, so creating the pool clears the warning at once. Functions take ``session``
keyword-only and never commit.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import Dag, DagRun, Pool
from engine.priority import DEFAULT_POOL
from engine.services.dags import load_serialized_dags
from engine.state import DagRunState

NON_EXISTENT_POOL = "non-existent pool"
"""Airflow's name of the warning kind."""


def run_counts(
    *, session: Session, dag_ids: Collection[str] | None
) -> dict[str, dict[DagRunState, int]]:
    """Per DAG that has runs (of ``dag_ids``; None: all), its runs counted by state (every
    state, zero included)."""
    stmt = sa.select(DagRun.dag_id, DagRun.state, sa.func.count())
    if dag_ids is not None:
        stmt = stmt.where(DagRun.dag_id.in_(sorted(dag_ids)))
    counts: dict[str, dict[DagRunState, int]] = {}
    for dag_id, state, count in session.execute(stmt.group_by(DagRun.dag_id, DagRun.state)):
        per_state = counts.setdefault(dag_id, dict.fromkeys(DagRunState, 0))
        per_state[DagRunState(state)] = int(count)
    return counts


@dataclass(frozen=True)
class DagWarningReport:
    """One warning about one DAG, in Airflow's terms."""

    dag_id: str
    warning_type: str
    message: str
    timestamp: datetime


def missing_pool_warnings(
    *, session: Session, dag_ids: Collection[str] | None, now: datetime
) -> list[DagWarningReport]:
    """A warning per active DAG (of ``dag_ids``; None: all) with a task whose pool does not
    exist, by dag_id; its time is the DAG's last parse (``now`` if it has none)."""
    active = sa.select(Dag.dag_id, Dag.last_parsed_at).where(Dag.is_active.is_(True))
    if dag_ids is not None:
        active = active.where(Dag.dag_id.in_(sorted(dag_ids)))
    parsed: dict[str, datetime | None] = {row[0]: row[1] for row in session.execute(active)}
    graphs = load_serialized_dags(session=session, dag_ids=list(parsed))
    pools = set(session.scalars(sa.select(Pool.name)))
    reports = []
    for dag_id, graph in sorted(graphs.items()):
        used = {task.settings.get("pool") or DEFAULT_POOL for task in graph.tasks.values()}
        missing = sorted(used - pools)
        if missing:
            message = f"DAG {dag_id!r} references pools that do not exist: {', '.join(missing)}"
            when = parsed[dag_id] or now
            reports.append(DagWarningReport(dag_id, NON_EXISTENT_POOL, message, when))
    return reports
