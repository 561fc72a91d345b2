"""The runs whose task instances changed since the scheduler last advanced them.

A row of ``dag_run_change`` says "run ``dag_run_id`` changed": a task instance of it was
created, reached a finished state, was put back to ``none`` or left ``none``, or the run
started. Database triggers (created by migration 0013, on PostgreSQL and SQLite) write the
rows in the statement that makes the change, whatever made it: a worker's finish, the
scheduler, an API clear or mark, a bulk write. So no write path can forget to note a
change, and a change is noted exactly when it commits. The scheduler's advance step takes
(deletes) the rows of the runs it locked before it reads their instances, then settles
only those runs (:mod:`engine.scheduling.changes`).

Moves between the in-flight states (``scheduled``, ``queued``, ``running``,
``up_for_retry``, ``up_for_reschedule``, ``deferred``) are not noted: neither a trigger
rule, fail fast nor a run's end looks at which of them a task is in, and they are most of a
busy system's writes (a claim, a queueing, a retry).

No foreign key to ``dag_run``: a foreign key check takes a share lock on the run's row,
which the scheduler's ``FOR UPDATE`` would make every finishing worker wait for. Rows of
runs that are gone or finished are swept by the advance step.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base


class DagRunChange(Base):
    """Run ``dag_run_id`` changed since the scheduler last advanced it (one row a change)."""

    __tablename__ = "dag_run_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    dag_run_id: Mapped[int] = mapped_column(sa.Integer, index=True)
