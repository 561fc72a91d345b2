"""Which running runs a tick advances: those whose task instances changed since.

Database triggers note a change in ``dag_run_change`` in the statement that makes it
(:mod:`engine.models.changes`). The advance step reads which runs have notes, locks those
that are running (``FOR UPDATE SKIP LOCKED``: a run another scheduler holds keeps its notes
for that scheduler), and *takes* (deletes) the notes of the runs it locked **before** it
reads their instances. A change committed before the take is in what the step then reads;
one committed after it left a note that the next tick finds. So no change is missed, even
with schedulers side by side, and a step that fails rolls its take back with the rest.

A run whose readiness depends on another run (``depends_on_past``: its previous run's
instances) is noted again while it has tasks waiting, since the change it waits for is
noted on that other run.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.models import DagRun
from engine.models.changes import DagRunChange
from engine.scheduling.readiness import RunRows
from engine.state import DagRunState, TaskInstanceState

KEPT_BY = (DagRunState.QUEUED, DagRunState.RUNNING)
"""Runs whose notes stay until advanced: running ones, and queued ones (they are advanced
once they start)."""


def changed_run_ids(*, session: Session) -> list[int]:
    """The runs that have a note (in any state), by primary key."""
    stmt = sa.select(DagRunChange.dag_run_id).distinct()
    return sorted(session.scalars(stmt))


def take_changes(*, session: Session, run_ids: Collection[int]) -> None:
    """Delete the notes of ``run_ids``, runs this scheduler holds locked; call it before
    reading their instances."""
    if run_ids:
        session.execute(sa.delete(DagRunChange).where(DagRunChange.dag_run_id.in_(run_ids)))


def drop_settled_changes(*, session: Session, run_ids: Collection[int]) -> None:
    """Delete the notes among ``run_ids`` of runs that finished or are gone: nothing will
    advance them (a run cleared again is noted again)."""
    if not run_ids:
        return
    kept = sa.select(DagRun.id).where(DagRun.id.in_(run_ids), DagRun.state.in_(KEPT_BY))
    session.execute(
        sa.delete(DagRunChange).where(
            DagRunChange.dag_run_id.in_(run_ids), DagRunChange.dag_run_id.not_in(kept)
        )
    )


def note_changed(*, session: Session, run_ids: Collection[int]) -> None:
    """Note ``run_ids`` as changed, so that the next tick advances them."""
    if run_ids:
        session.execute(sa.insert(DagRunChange), [{"dag_run_id": i} for i in sorted(run_ids)])


def waits_on_past(dag: SerializedDAG, rows: RunRows) -> bool:
    """Whether a task of the run still in ``none`` may be waiting for its previous run."""
    return any(
        task_id in dag.tasks
        and dag.tasks[task_id].depends_on_past
        and any(row.state is TaskInstanceState.NONE for row in group)
        for task_id, group in rows.items()
    )
