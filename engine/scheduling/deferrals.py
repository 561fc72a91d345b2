"""The scheduler's deferral step: fail deferred task instances whose ``timeout`` passed.

As in Airflow, a deferral that outlives the ``timeout`` given to ``defer()`` fails its
try with :class:`~engine.authoring.triggers.base.TaskDeferralTimeout`, and retry rules
apply. Rows are locked with ``FOR UPDATE SKIP LOCKED``, so schedulers side by side (and
a triggerer firing the same instance) never fail one twice.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.execution.deferral import fail_deferred, timeout_error
from engine.models import TaskInstance
from engine.state import TaskInstanceState


def fail_timed_out_deferrals(*, session: Session, now: datetime) -> list[TaskInstance]:
    """Fail every deferred instance whose ``trigger_timeout`` is past; those failed."""
    tis = session.scalars(
        sa.select(TaskInstance)
        .where(
            TaskInstance.state == TaskInstanceState.DEFERRED,
            TaskInstance.trigger_timeout < now,
        )
        .order_by(TaskInstance.id)
        .with_for_update(skip_locked=True)
    ).all()
    return fail_deferred(session=session, tis=tis, error=timeout_error, now=now)
