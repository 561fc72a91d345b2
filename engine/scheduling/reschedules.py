"""Rescheduled sensors: ``up_for_reschedule`` whose next poke has come → ``scheduled``.

A ``mode="reschedule"`` sensor ends each poke that found nothing as ``up_for_reschedule``
with its ``next_poke_at``, holding no slot. This step hands the due ones back to
submission, which queues them within every limit like any task, but at their current
try: ``next_poke_at`` stays set on the ``scheduled`` row to say so, and submission clears
it (see :attr:`engine.scheduling.submission.Waiting.next_try`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import DagRun, TaskInstance
from engine.models.transitions import set_task_state
from engine.state import DagRunState, TaskInstanceState

TI = TaskInstanceState


def promote_reschedules(*, session: Session, now: datetime) -> list[TaskInstance]:
    """Move due ``up_for_reschedule`` instances of running runs to ``scheduled``; rows
    another scheduler holds are skipped (``FOR UPDATE SKIP LOCKED``)."""
    tis = session.scalars(
        sa.select(TaskInstance)
        .join(DagRun, DagRun.id == TaskInstance.dag_run_id)
        .where(
            TaskInstance.state == TI.UP_FOR_RESCHEDULE,
            TaskInstance.next_poke_at <= now,
            DagRun.state == DagRunState.RUNNING,
        )
        .order_by(TaskInstance.next_poke_at, TaskInstance.id)
        .with_for_update(of=TaskInstance, skip_locked=True)
    ).all()
    return [
        ti
        for ti in tis
        if set_task_state(
            session=session,
            ti_id=ti.id,
            expected=TI.UP_FOR_RESCHEDULE,
            new=TI.SCHEDULED,
            try_number=ti.try_number,
            scheduled_at=now,
        )
    ]
