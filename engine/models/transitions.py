"""Compare-and-set state changes: the one way concurrent processes move a state.

Each helper checks the move against the transition table of :mod:`engine.state`, then
issues a single ``UPDATE ... WHERE id = :id AND state = :expected [AND try_number = :n]``
(:func:`set_task_states`: ``id IN (...)``, many instances at a try) and reports whether
it won. A duplicate delivery, a late worker or a second scheduler
loses the race and changes nothing. The caller owns the transaction: nothing here commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import DagRun, TaskInstance
from engine.state import DagRunState, TaskInstanceState, check_run_transition, check_task_transition

logger = logging.getLogger(__name__)

_PROTECTED = frozenset({"id", "state"})


def set_task_state(
    *,
    session: Session,
    ti_id: int,
    expected: TaskInstanceState,
    new: TaskInstanceState,
    try_number: int,
    increment_try: bool = False,
    resume_try: bool = False,
    **values: Any,
) -> bool:
    """Move task instance ``ti_id`` from ``expected`` to ``new`` if it still is there.

    The row must also still be at ``try_number``; ``increment_try`` adds one to it in the
    same statement (a new attempt); ``resume_try`` takes one from it, so that the next
    queueing resumes the same try (a deferred task whose trigger fired). ``values`` sets
    other columns of the row. Returns True when this call made the change, False when the
    row had moved on.
    Raises :class:`~engine.errors.IllegalTransitionError` for a move the table forbids.
    """
    check_task_transition(expected, new)
    _check_columns(TaskInstance, values)
    if increment_try:
        values["try_number"] = TaskInstance.try_number + 1
    elif resume_try:
        values["try_number"] = TaskInstance.try_number - 1
    stmt = (
        sa.update(TaskInstance)
        .where(
            TaskInstance.id == ti_id,
            TaskInstance.state == expected,
            TaskInstance.try_number == try_number,
        )
        .values(state=new, **values)
        .returning(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id)
        .execution_options(synchronize_session="fetch")
    )
    row = session.execute(stmt).one_or_none()
    if row is None:
        logger.debug("task instance %s: %s -> %s lost (try %s)", ti_id, expected, new, try_number)
        return False
    logger.info(
        "task instance %s (%s.%s.%s try %s): %s -> %s",
        ti_id, row.dag_id, row.run_id, row.task_id, try_number, expected, new,
    )  # fmt: skip
    return True


def set_task_states(
    *,
    session: Session,
    moves: Sequence[tuple[int, int]],
    expected: TaskInstanceState,
    new: TaskInstanceState,
    **values: Any,
) -> set[int]:
    """:func:`set_task_state` for many task instances at once: each ``(ti_id, try_number)``
    of ``moves`` moves from ``expected`` to ``new`` if it still is there at that try, in
    one statement per distinct try number (one for a fan-out's instances, all at try 0).
    Returns the ids this call moved; the others had moved on.
    Raises :class:`~engine.errors.IllegalTransitionError` for a move the table forbids.
    """
    check_task_transition(expected, new)
    _check_columns(TaskInstance, values)
    by_try: dict[int, list[int]] = {}
    for ti_id, try_number in moves:
        by_try.setdefault(try_number, []).append(ti_id)
    won: set[int] = set()
    for try_number, ids in sorted(by_try.items()):
        stmt = (
            sa.update(TaskInstance)
            .where(
                TaskInstance.id.in_(ids),
                TaskInstance.state == expected,
                TaskInstance.try_number == try_number,
            )
            .values(state=new, **values)
            .returning(TaskInstance.id, TaskInstance.dag_id, TaskInstance.run_id,
                       TaskInstance.task_id)
            .execution_options(synchronize_session="fetch")
        )  # fmt: skip
        rows = session.execute(stmt).all()
        won.update(row.id for row in rows)
        if logger.isEnabledFor(logging.INFO):
            for row in rows:
                logger.info(
                    "task instance %s (%s.%s.%s try %s): %s -> %s",
                    row.id, row.dag_id, row.run_id, row.task_id, try_number, expected, new,
                )  # fmt: skip
    if len(won) < len(moves):
        logger.debug("%s task instances: %s -> %s lost", len(moves) - len(won), expected, new)
    return won


def set_run_state(
    *,
    session: Session,
    run_id_pk: int,
    expected: DagRunState,
    new: DagRunState,
    **values: Any,
) -> bool:
    """Move dag run ``run_id_pk`` (its primary key) from ``expected`` to ``new`` if still there.

    ``values`` sets other columns of the row. Returns True when this call made the
    change, False when the row had moved on.
    Raises :class:`~engine.errors.IllegalTransitionError` for a move the table forbids.
    """
    check_run_transition(expected, new)
    _check_columns(DagRun, values)
    stmt = (
        sa.update(DagRun)
        .where(DagRun.id == run_id_pk, DagRun.state == expected)
        .values(state=new, **values)
        .returning(DagRun.dag_id, DagRun.run_id)
        .execution_options(synchronize_session="fetch")
    )
    row = session.execute(stmt).one_or_none()
    if row is None:
        logger.debug("dag run %s: %s -> %s lost", run_id_pk, expected, new)
        return False
    logger.info("dag run %s (%s.%s): %s -> %s", run_id_pk, row.dag_id, row.run_id, expected, new)
    return True


def _check_columns(model: type[TaskInstance] | type[DagRun], values: dict[str, Any]) -> None:
    unknown = set(values) - set(model.__table__.columns.keys())
    forbidden = set(values) & _PROTECTED
    if unknown or forbidden:
        names = ", ".join(sorted(unknown | forbidden))
        raise TypeError(f"cannot set {names} on {model.__tablename__} in a state change")
