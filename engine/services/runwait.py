"""Why a run waits, in one line a person reads, and when it will start when that is known.

The rules mirror the scheduler's: :func:`engine.scheduling.dagruns.start_queued_runs`
starts a queued run once its ``run_after`` has come, its DAG is active and not paused, and
there is room under ``max_active_runs`` (the DAG's, or its backfill's, which must not be
paused either); :func:`engine.scheduling.brokenfiles.hold_broken` holds the tasks of a
running run whose DAG file does not import now. Nothing here changes anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import Backfill, Dag, DagRun
from engine.services.brokenfiles import broken_dag
from engine.state import DagRunState
from engine.timeutil import ensure_aware

RUNS_NAMED = 3
"""How many of the running runs a reason names."""


NEXT_TICK = "starts at the scheduler's next tick"


@dataclass(frozen=True)
class RunWait:
    """Why a run (or its tasks) waits; ``starts_at`` when the time is known."""

    reason: str
    starts_at: datetime | None = None


def run_wait(*, session: Session, run: DagRun, now: datetime) -> RunWait | None:
    """Why ``run`` waits at ``now``; None when it does not (it is finished, or running
    with nothing holding its tasks back). A queued run with nothing in its way starts at
    the scheduler's next tick, and says so."""
    if run.state is DagRunState.RUNNING:
        broken = broken_dag(session=session, dag_id=run.dag_id)
        return RunWait(f"tasks wait: {broken.reason}") if broken is not None else None
    if run.state is not DagRunState.QUEUED:
        return None
    dag = session.get(Dag, run.dag_id)
    if dag is None or not dag.is_active:
        return RunWait("the DAG is no longer in the DAG folder: starts if its file comes back")
    if dag.is_paused:
        return RunWait("DAG is paused: starts when unpaused")
    run_after = ensure_aware(run.run_after)
    if run_after > now:
        return RunWait(f"starts at {_at(run_after, now)} (run_after)", run_after)
    if run.backfill_id is not None:
        return _backfill_wait(session, run)
    return _limit_wait(session, run, dag.max_active_runs, "max_active_runs", backfill_id=None)


def _backfill_wait(session: Session, run: DagRun) -> RunWait:
    backfill = session.get(Backfill, run.backfill_id)
    if backfill is None:
        return RunWait(NEXT_TICK)
    if backfill.is_paused:
        return RunWait(f"backfill {backfill.id} is paused: starts when it is unpaused")
    limit = backfill.max_active_runs
    return _limit_wait(
        session, run, limit, f"backfill {backfill.id}'s max_active_runs", backfill_id=backfill.id
    )


def _limit_wait(
    session: Session, run: DagRun, limit: int, name: str, *, backfill_id: int | None
) -> RunWait:
    """The run waits for a free place under ``limit`` when as many runs as it allows run."""
    stmt = sa.select(DagRun.run_id).where(
        DagRun.dag_id == run.dag_id,
        DagRun.state == DagRunState.RUNNING,
        DagRun.backfill_id.is_(None) if backfill_id is None else DagRun.backfill_id == backfill_id,
    )
    running = list(session.scalars(stmt.order_by(DagRun.start_date, DagRun.id)))
    if len(running) < limit:
        return RunWait(NEXT_TICK)
    return RunWait(f"waits for {name}={limit}: {_runs(running)}")


def _runs(run_ids: Sequence[str]) -> str:
    named = ", ".join(run_ids[:RUNS_NAMED])
    more = f" and {len(run_ids) - RUNS_NAMED} more" if len(run_ids) > RUNS_NAMED else ""
    verb = "is" if len(run_ids) == 1 else "are"
    return f"run{'s' if len(run_ids) != 1 else ''} {named}{more} {verb} running"


def _at(when: datetime, now: datetime) -> str:
    """``12:00 UTC`` today, else with its date."""
    if when.date() == now.date():
        return f"{when:%H:%M} UTC"
    return f"{when:%Y-%m-%d %H:%M} UTC"
