"""Finishing a try through a database outage: retried until it commits or is no longer ours.

A finish that fails because the database went away (PostgreSQL restarted, a failover, a
dropped connection) is retried with capped exponential backoff for up to
``core.finish_retry_timeout``. The finish's compare-and-set makes a retry safe: once the
row no longer runs this try, a retry changes nothing. Without the retry the try stayed
``running`` until zombie detection failed it, and its task ran a second time.

One case needs care: the commit landed but its acknowledgement was lost with the
connection. The retry then loses its compare-and-set although the state the row holds is
the one this finish wrote. Every retry writes the same ``end_date`` (the clock is pinned
to the first try of the finish, which is also when the task ended), so the try's attempt
row tells the two apart: that end date means this finish committed; any other, someone
else (zombie detection, an operator) ended the try.

When the finish cannot commit in time the try is left ``running``; its heartbeats stop
with the runner and zombie detection fails it under the normal retry rules.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import sqlalchemy as sa

from engine.executors.base import TaskJob
from engine.models import TaskAttempt
from engine.state import TaskInstanceState
from workers.attempt import AttemptRecord
from workers.claim import Claim
from workers.context import RunnerContext
from workers.finish import finish_try

logger = logging.getLogger(__name__)

FIRST_DELAY = 0.25
"""Seconds before the first retry of a finish the database failed."""
MAX_DELAY = 5.0
"""The longest pause between two retries: a database back from a restart is found soon,
well within a zombie threshold."""

Finish = Callable[..., tuple[TaskInstanceState | None, list[TaskJob]]]
Outcome = tuple[TaskInstanceState | None, list[TaskJob]]


def database_gone(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached, rather than refused a write."""
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


def delays(first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> Iterator[float]:
    """Pauses between retries: doubling from ``first``, at most ``cap``."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, cap)


def finish_durably(
    claim: Claim,
    record: AttemptRecord,
    *,
    ctx: RunnerContext,
    finish: Finish = finish_try,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """:func:`workers.finish.finish_try`, retried while the database is gone; returns the
    state the try ended in (None: it was no longer this worker's, or the finish gave up)
    and the fast-follow jobs to submit."""
    ended = ctx.clock()
    pinned = dataclasses.replace(ctx, clock=lambda: ended)
    deadline = time.monotonic() + ctx.settings.finish_retry_timeout.total_seconds()
    failed_before = False
    for delay in delays():
        try:
            state, jobs = finish(claim, record, ctx=pinned)
            if state is None and failed_before:
                return _landed_earlier(claim, ended, ctx=ctx), []
            return state, jobs
        except Exception as exc:
            if not database_gone(exc):
                raise
            failed_before = True
            if time.monotonic() + delay > deadline:
                return _give_up(claim, exc)
            logger.warning(
                "%s: finish failed, the database is unreachable (%s); retrying in %.2f s",
                claim.describe(), _first_line(exc), delay,
            )  # fmt: skip
        sleep(delay)
    raise AssertionError("unreachable: delays() never ends")


def _landed_earlier(
    claim: Claim, ended: datetime, *, ctx: RunnerContext
) -> TaskInstanceState | None:
    """The state an earlier, unacknowledged try of this finish committed; None when the
    try was ended by someone else."""
    with ctx.session_factory() as session:
        row = session.execute(
            sa.select(TaskAttempt.state, TaskAttempt.end_date).where(
                TaskAttempt.task_instance_id == claim.ti_id,
                TaskAttempt.try_number == claim.try_number,
            )
        ).one_or_none()
    if row is None or row.end_date != ended or row.state == TaskInstanceState.RUNNING.value:
        return None
    logger.info(
        "%s: the finish had committed before its connection was lost (%s); its retry's "
        "lost compare-and-set was its own commit",
        claim.describe(), row.state,
    )  # fmt: skip
    return TaskInstanceState(row.state)


def _give_up(claim: Claim, exc: BaseException) -> Outcome:
    logger.error(
        "%s: finish abandoned, the database stayed unreachable for core.finish_retry_timeout "
        "(%s); the try is left to zombie detection",
        claim.describe(), _first_line(exc),
        exc_info=exc,
    )  # fmt: skip
    return None, []


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
