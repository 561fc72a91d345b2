"""What the web UI shows at a glance: the latest runs of many DAGs in one query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import DagRun
from engine.state import DagRunState


@dataclass(frozen=True)
class RunSummary:
    """One run as a square in a list: which, how it stands, when."""

    run_id: str
    state: DagRunState
    logical_date: datetime
    start_date: datetime | None
    end_date: datetime | None


def recent_runs(
    *, session: Session, dag_ids: Collection[str], per_dag: int
) -> dict[str, list[RunSummary]]:
    """The latest ``per_dag`` runs of each of ``dag_ids``, newest first."""
    if not dag_ids:
        return {}
    rank = (
        sa.func.row_number()
        .over(partition_by=DagRun.dag_id, order_by=(DagRun.logical_date.desc(), DagRun.id.desc()))
        .label("rank")
    )
    ranked = (
        sa.select(
            DagRun.dag_id,
            DagRun.run_id,
            DagRun.state,
            DagRun.logical_date,
            DagRun.start_date,
            DagRun.end_date,
            rank,
        )
        .where(DagRun.dag_id.in_(sorted(dag_ids)))
        .subquery()
    )
    rows = session.execute(
        sa.select(ranked).where(ranked.c.rank <= per_dag).order_by(ranked.c.dag_id, ranked.c.rank)
    )
    runs: dict[str, list[RunSummary]] = defaultdict(list)
    for row in rows:
        runs[row.dag_id].append(
            RunSummary(
                row.run_id, DagRunState(row.state), row.logical_date, row.start_date, row.end_date
            )
        )
    return dict(runs)
