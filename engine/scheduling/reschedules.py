"""Rescheduled sensors: ``up_for_reschedule`` whose next poke has come → ``scheduled``.

A ``mode="reschedule"`` sensor ends each poke that found nothing as ``up_for_reschedule``
with its ``next_poke_at``, holding no slot. This step hands the due ones back to
submission, which queues them within every limit like any task, but at their current
try: ``next_poke_at`` stays set on the ``scheduled`` row to say so, and submission clears
it (see :attr:`engine.scheduling.submission.Waiting.next_try`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.models import TaskInstance
from engine.scheduling.maintenance import promote_due
from engine.state import TaskInstanceState


def promote_reschedules(*, session: Session, now: datetime) -> list[TaskInstance]:
    """Move due ``up_for_reschedule`` instances of running runs to ``scheduled``, as due
    retries are (compare-and-set, ``FOR UPDATE SKIP LOCKED``)."""
    return promote_due(
        session=session,
        now=now,
        waiting=TaskInstanceState.UP_FOR_RESCHEDULE,
        due=TaskInstance.next_poke_at,
    )
