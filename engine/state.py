"""States of task instances and dag runs, and the one table of moves allowed between them.

Every write of a state goes through :func:`check_task_transition` or
:func:`check_run_transition` (the ORM models enforce it on assignment, and the
compare-and-set helpers call it before issuing their ``UPDATE``), so a move that is not
in the table below is a bug that fails loudly instead of a silent corruption.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from engine.errors import IllegalTransitionError


class TaskInstanceState(StrEnum):
    """Where one task of one dag run stands. ``NONE`` is a state, never Python's ``None``."""

    NONE = "none"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    UP_FOR_RETRY = "up_for_retry"
    UP_FOR_RESCHEDULE = "up_for_reschedule"
    """A ``mode="reschedule"`` sensor between pokes: no slot held, next poke at ``next_poke_at``."""
    UPSTREAM_FAILED = "upstream_failed"
    SKIPPED = "skipped"
    REMOVED = "removed"
    DEFERRED = "deferred"
    """Waiting on a trigger (run by a triggerer); holds no worker slot."""


class DagRunState(StrEnum):
    """Where one dag run stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


TI = TaskInstanceState

FINISHED: frozenset[TaskInstanceState] = frozenset(
    {TI.SUCCESS, TI.FAILED, TI.UPSTREAM_FAILED, TI.SKIPPED, TI.REMOVED}
)
"""A task instance in one of these states will not run again unless it is cleared."""

UNFINISHED: frozenset[TaskInstanceState] = frozenset(TI) - FINISHED
"""A task instance in one of these states may still run."""

FAILED_STATES: frozenset[TaskInstanceState] = frozenset({TI.FAILED, TI.UPSTREAM_FAILED})
"""Counted as failure by trigger rules and by the outcome of a run."""

ACTIVE: frozenset[TaskInstanceState] = frozenset({TI.QUEUED, TI.RUNNING})
"""Holding a slot: counted against parallelism, pools and ``max_active_tasks``."""


def summary_state(states: Iterable[TaskInstanceState]) -> TaskInstanceState:
    """A mapped task's state summed up over its instances: an unfinished instance's while
    any is, else a failed one's, else a succeeded one's (else its first instance's)."""
    listed = sorted(
        states, key=lambda s: (s in FINISHED, s not in FAILED_STATES, s is not TI.SUCCESS)
    )
    return listed[0]


RUN_FINISHED: frozenset[DagRunState] = frozenset({DagRunState.SUCCESS, DagRunState.FAILED})
RUN_UNFINISHED: frozenset[DagRunState] = frozenset(DagRunState) - RUN_FINISHED

_MARKED = frozenset({TI.SUCCESS, TI.FAILED})  # an operator may mark any task either way
_CLEARED = frozenset({TI.NONE})  # clearing puts a task back to be run again

TASK_TRANSITIONS: dict[TaskInstanceState, frozenset[TaskInstanceState]] = {
    TI.NONE: frozenset({TI.SCHEDULED, TI.SKIPPED, TI.UPSTREAM_FAILED, TI.REMOVED}) | _MARKED,
    TI.SCHEDULED: frozenset({TI.QUEUED, TI.NONE, TI.SKIPPED, TI.UPSTREAM_FAILED, TI.REMOVED})
    | _MARKED,
    # queued and up_for_retry -> skipped: a fail_fast run stops tasks that have not run yet.
    TI.QUEUED: frozenset({TI.RUNNING, TI.SCHEDULED, TI.UP_FOR_RETRY, TI.REMOVED, TI.SKIPPED})
    | _MARKED
    | _CLEARED,
    TI.RUNNING: frozenset({TI.UP_FOR_RETRY, TI.UP_FOR_RESCHEDULE, TI.SKIPPED, TI.DEFERRED})
    | _MARKED,
    TI.UP_FOR_RETRY: frozenset({TI.SCHEDULED, TI.REMOVED, TI.SKIPPED}) | _MARKED | _CLEARED,
    # A sensor waiting for its next poke, as up_for_retry: scheduled when the poke is due.
    TI.UP_FOR_RESCHEDULE: frozenset({TI.SCHEDULED, TI.REMOVED, TI.SKIPPED}) | _MARKED | _CLEARED,
    # deferred -> scheduled: its trigger fired; -> up_for_retry/failed: timed out or raised.
    TI.DEFERRED: frozenset({TI.SCHEDULED, TI.UP_FOR_RETRY, TI.REMOVED, TI.SKIPPED})
    | _MARKED
    | _CLEARED,
    TI.SUCCESS: frozenset({TI.FAILED}) | _CLEARED,
    TI.FAILED: frozenset({TI.SUCCESS}) | _CLEARED,
    TI.UPSTREAM_FAILED: frozenset({TI.SKIPPED}) | _MARKED | _CLEARED,
    TI.SKIPPED: _MARKED | _CLEARED,
    TI.REMOVED: _CLEARED,
}
"""``TASK_TRANSITIONS[a]`` holds every state a task instance may move to from ``a``."""

RUN_TRANSITIONS: dict[DagRunState, frozenset[DagRunState]] = {
    DagRunState.QUEUED: frozenset({DagRunState.RUNNING, DagRunState.SUCCESS, DagRunState.FAILED}),
    DagRunState.RUNNING: frozenset({DagRunState.SUCCESS, DagRunState.FAILED, DagRunState.QUEUED}),
    DagRunState.SUCCESS: frozenset({DagRunState.FAILED, DagRunState.QUEUED}),
    DagRunState.FAILED: frozenset({DagRunState.SUCCESS, DagRunState.QUEUED}),
}
"""``RUN_TRANSITIONS[a]`` holds every state a dag run may move to from ``a``."""


def can_transition_task(old: TaskInstanceState, new: TaskInstanceState) -> bool:
    """True when the table allows a task instance to move from ``old`` to ``new``."""
    return new in TASK_TRANSITIONS[old]


def check_task_transition(old: TaskInstanceState, new: TaskInstanceState) -> None:
    """Raise :class:`IllegalTransitionError` unless a task instance may move ``old`` → ``new``."""
    if not can_transition_task(old, new):
        raise IllegalTransitionError(f"task instance cannot move from {old} to {new}")


def check_run_transition(old: DagRunState, new: DagRunState) -> None:
    """Raise :class:`IllegalTransitionError` unless a dag run may move ``old`` → ``new``."""
    if new not in RUN_TRANSITIONS[old]:
        raise IllegalTransitionError(f"dag run cannot move from {old} to {new}")
