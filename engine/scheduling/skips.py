"""Skipping named tasks of a run at once: what a short circuit asks for when it finishes
(:mod:`engine.authoring.skipping`). Readiness then applies trigger rules below them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import TaskInstance
from engine.models.transitions import set_task_state
from engine.state import TaskInstanceState

TI = TaskInstanceState


def skip_tasks(
    *, session: Session, dag_run_id: int, task_ids: Collection[str], now: datetime
) -> int:
    """Move the run's instances of ``task_ids`` that have not started (``none``) to
    ``skipped``, each by compare-and-set; returns how many moved. One that is already
    scheduled or running (``trigger_rule="always"``) keeps going, as does a finished one."""
    if not task_ids:
        return 0
    rows = session.execute(
        sa.select(TaskInstance.id, TaskInstance.try_number).where(
            TaskInstance.dag_run_id == dag_run_id,
            TaskInstance.task_id.in_(sorted(task_ids)),
            TaskInstance.state == TI.NONE,
        )
    ).all()
    moved = 0
    for ti_id, try_number in rows:
        moved += set_task_state(
            session=session, ti_id=ti_id, expected=TI.NONE, new=TI.SKIPPED,
            try_number=try_number, end_date=now,
        )  # fmt: skip
    return moved
