"""Dag runs, task instances, their attempts, XComs and pools.

``DagRun.state`` and ``TaskInstance.state`` refuse, on assignment, a move that the
transition table in :mod:`engine.state` forbids. Concurrent writers use the
compare-and-set helpers of :mod:`engine.models.transitions` instead of assigning.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship, validates

from engine.models import backfills as _backfills  # noqa: F401 - backfill_id's foreign key
from engine.models import triggers as _triggers  # noqa: F401 - trigger_id's foreign key
from engine.models.base import (
    Base,
    JSONType,
    StrEnumType,
    UtcDateTime,
    created_at_column,
    previous_value,
    updated_at_column,
)
from engine.models.dags import ID_LENGTH, DagVersion
from engine.priority import DEFAULT_POOL, PriorityClass, queue_name
from engine.state import DagRunState, TaskInstanceState, check_run_transition, check_task_transition
from engine.timeutil import utcnow


def _queue_of_priority_class(context: DefaultExecutionContext) -> str:
    """The default ``queue`` of a task instance: the queue of its ``priority_class``, so the
    two agree for a row inserted without a queue (``priority_class`` has its own default)."""
    row = context.get_current_parameters()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy
    return queue_name(row["priority_class"])


StateT = TypeVar("StateT", DagRunState, TaskInstanceState)
NOTE_LENGTH = 1000
"""The longest note on a run or a task instance (Airflow's limit)."""
REMOTE_URL_LENGTH = 2048
"""Room for a remote log URL: a base and three ids of up to ID_LENGTH each."""


def _allowed_move(
    row: object, key: str, new: StateT, check: Callable[[StateT, StateT], None]
) -> StateT:
    """``new``, once ``check`` (the transition table) allows the move from ``row``'s state."""
    old = previous_value(row, key)
    if old is not None and old != new:
        check(type(new)(old), new)
    return new


class DagRunType(StrEnum):
    """Why a dag run exists."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"
    BACKFILL = "backfill"
    ASSET_TRIGGERED = "asset_triggered"
    """Created when the asset events a DAG is scheduled on arrived."""


class DagRun(Base):
    """One run of a DAG for one logical date."""

    __tablename__ = "dag_run"
    __table_args__ = (
        sa.UniqueConstraint("dag_id", "run_id"),
        sa.Index("ix_dag_run_dag_id_logical_date", "dag_id", "logical_date"),
        sa.Index("ix_dag_run_state_run_after", "state", "run_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dag_id: Mapped[str] = mapped_column(
        sa.String(ID_LENGTH), sa.ForeignKey("dag.dag_id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    logical_date: Mapped[datetime] = mapped_column(UtcDateTime())
    data_interval_start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    data_interval_end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    run_type: Mapped[DagRunType] = mapped_column(StrEnumType(DagRunType))
    state: Mapped[DagRunState] = mapped_column(
        StrEnumType(DagRunState), default=DagRunState.QUEUED, index=True
    )
    conf: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    run_after: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    """The run may start at this time or later (a delayed trigger sets it in the future)."""
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    start_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    triggered_by: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    dag_hash: Mapped[str | None] = mapped_column(sa.String(64))
    """The content hash of the serialized DAG this run was created from."""
    dag_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("dag_version.id", ondelete="SET NULL")
    )
    """The DAG version this run was created with and is scheduled on to its end; NULL for
    runs older than versions (they follow the latest graph)."""
    dag_version_number: Mapped[int | None] = column_property(
        sa.select(DagVersion.version_number)
        .where(DagVersion.id == dag_version_id)
        .correlate_except(DagVersion)
        .scalar_subquery(),
        deferred=True,
    )
    """That version's number (1, 2, ...), loaded when asked for: lists undefer it."""
    last_scheduling_decision: Mapped[datetime | None] = mapped_column(UtcDateTime())
    backfill_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("backfill.id", ondelete="SET NULL"), index=True
    )
    """The backfill that created (or re-ran) this run; its limits and pause apply."""
    deadline_missed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """When the DAG's run ``deadline`` was found missed (set once: the alert fires once)."""
    note: Mapped[str | None] = mapped_column(sa.String(NOTE_LENGTH))
    """A user's free text about the run (Airflow's ``note``)."""
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    task_instances: Mapped[list[TaskInstance]] = relationship(
        back_populates="dag_run", cascade="all, delete-orphan", passive_deletes=True
    )

    @validates("state")
    def _check_state(self, key: str, new: DagRunState | str) -> DagRunState:
        return _allowed_move(self, key, DagRunState(new), check_run_transition)


class TaskInstance(Base):
    """One task of one dag run; retried in place (``try_number`` counts the attempts)."""

    __tablename__ = "task_instance"
    __table_args__ = (
        sa.UniqueConstraint("dag_id", "run_id", "task_id", "map_index"),
        sa.Index("ix_task_instance_state_next_retry_at", "state", "next_retry_at"),
        sa.Index("ix_task_instance_state_last_heartbeat_at", "state", "last_heartbeat_at"),
        sa.Index("ix_task_instance_dag_run_id_state", "dag_run_id", "state"),
        sa.Index("ix_task_instance_state_next_poke_at", "state", "next_poke_at"),
        # The API lists every run's instances by task_id (migration 0014).
        sa.Index("ix_task_instance_task_id", "task_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dag_run_id: Mapped[int] = mapped_column(sa.ForeignKey("dag_run.id", ondelete="CASCADE"))
    dag_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    run_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    task_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    map_index: Mapped[int] = mapped_column(default=-1, server_default="-1")
    """Which instance of a mapped task this is (0, 1, ...); -1 for a task that is not
    mapped, and for a mapped task's placeholder until its input's length is known."""
    state: Mapped[TaskInstanceState] = mapped_column(
        StrEnumType(TaskInstanceState), default=TaskInstanceState.NONE, index=True
    )
    try_number: Mapped[int] = mapped_column(default=0)
    max_tries: Mapped[int] = mapped_column(default=0)
    priority_class: Mapped[PriorityClass] = mapped_column(
        StrEnumType(PriorityClass), default=PriorityClass.DEFAULT
    )
    priority_weight: Mapped[int] = mapped_column(default=1)
    queue: Mapped[str] = mapped_column(sa.String(ID_LENGTH), default=_queue_of_priority_class)
    """The queue the executor puts this instance's tries on; by default the queue of its
    ``priority_class`` (``loom.high``, ``loom.default``, ``loom.low``)."""
    pool: Mapped[str] = mapped_column(sa.String(ID_LENGTH), default=DEFAULT_POOL)
    pool_slots: Mapped[int] = mapped_column(default=1)
    operator: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    start_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    duration: Mapped[float | None]
    """Seconds the last attempt ran."""
    hostname: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    pid: Mapped[int | None]
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_poke_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """A ``mode="reschedule"`` sensor's next poke: set while it is ``up_for_reschedule``, and
    while ``scheduled`` for that poke (which runs in the same try: submission does not
    start a new one); cleared when the poke is queued."""
    first_poke_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """When a rescheduling sensor first poked since it was last cleared: its ``timeout``
    counts from here, across reschedules and retries."""
    poke_count: Mapped[int] = mapped_column(default=0, server_default="0")
    """Pokes a rescheduling sensor made since it was last cleared (its backoff's exponent)."""
    job_id: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    """The executor's id of the job that runs this instance (an RQ job id)."""
    deadline_missed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """When the task's ``deadline`` was found missed (set once: the alert fires once)."""
    trigger_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("trigger.id", ondelete="SET NULL"), index=True
    )
    """The trigger a ``deferred`` instance waits on."""
    next_method: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    """The method a resumed try calls instead of ``execute`` (Airflow's name)."""
    next_kwargs: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """Its keyword arguments (encoded as XCom values), ``event`` added when the trigger fired."""
    trigger_timeout: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    """When a ``deferred`` instance fails with ``TaskDeferralTimeout`` if still waiting."""
    note: Mapped[str | None] = mapped_column(sa.String(NOTE_LENGTH))
    """A user's free text about the task instance (Airflow's ``note``)."""
    updated_at: Mapped[datetime] = updated_at_column()

    dag_run: Mapped[DagRun] = relationship(back_populates="task_instances")
    attempts: Mapped[list[TaskAttempt]] = relationship(
        back_populates="task_instance",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TaskAttempt.try_number",
    )

    @validates("state")
    def _check_state(self, key: str, new: TaskInstanceState | str) -> TaskInstanceState:
        return _allowed_move(self, key, TaskInstanceState(new), check_task_transition)


class TaskAttempt(Base):
    """One try of a task instance: where and how it ran, how it ended, and its log."""

    __tablename__ = "task_attempt"
    __table_args__ = (sa.UniqueConstraint("task_instance_id", "try_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_instance_id: Mapped[int] = mapped_column(
        sa.ForeignKey("task_instance.id", ondelete="CASCADE")
    )
    try_number: Mapped[int]
    state: Mapped[str] = mapped_column(sa.String(32))
    """The attempt's outcome (``running`` while it runs), a task instance state value."""
    start_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    hostname: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    pid: Mapped[int | None]
    error_type: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    traceback: Mapped[str | None] = mapped_column(sa.Text)
    log: Mapped[str | None] = mapped_column(sa.Text)
    log_truncated: Mapped[bool] = mapped_column(default=False)
    log_start: Mapped[int] = mapped_column(default=0, server_default="0")
    """Where ``log`` starts in the try's whole output: the characters cut from its front,
    so that offsets into a log being followed stay valid while its tail moves on."""
    log_remote_url: Mapped[str | None] = mapped_column(sa.String(REMOTE_URL_LENGTH))
    """Where the whole log was uploaded (``logging.remote_base_url``) when ``log`` keeps
    only its tail; None: ``log`` is all there is."""
    log_remote_start: Mapped[int] = mapped_column(default=0, server_default="0")
    """Where the uploaded object starts in the try's whole output."""
    rendered: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """The templated fields as rendered for this attempt."""

    task_instance: Mapped[TaskInstance] = relationship(back_populates="attempts")


class XCom(Base):
    """A value one task instance published (its return value under key ``return_value``)."""

    __tablename__ = "xcom"
    __table_args__ = (sa.UniqueConstraint("dag_id", "run_id", "task_id", "map_index", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dag_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    run_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    task_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    map_index: Mapped[int] = mapped_column(default=-1, server_default="-1")
    key: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class TaskMap(Base):
    """The length of a task's return value that a mapped downstream task expands over,
    recorded when the task finishes, so that the scheduler expands without reading (or
    running) anything of the value itself."""

    __tablename__ = "task_map"

    dag_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    run_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    task_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    map_index: Mapped[int] = mapped_column(primary_key=True)
    length: Mapped[int]


class Pool(Base):
    """A named number of slots that task instances in it share."""

    __tablename__ = "pool"

    name: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    slots: Mapped[int]
    description: Mapped[str | None] = mapped_column(sa.Text)
