"""Offloading a finished try's log to the remote store (``logging.remote_base_url``).

Runs after the finish committed, in no transaction while the upload travels: the log is
put whole, then one guarded ``UPDATE`` cuts the row's copy to its tail and records the
object's URL. Until then, and for good when the upload fails, the row holds the whole log
(up to ``core.max_log_bytes``): a failure loses nothing, is logged as a warning and leaves
the try's outcome as it was. With remote logging off this costs one ``is None`` check.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from engine.execution.remotelogs import RemoteLogError, RemoteLogs, tail_of
from engine.models import TaskAttempt
from engine.state import TaskInstanceState
from engine.trykey import try_key
from workers.attempt import AttemptRecord
from workers.claim import Claim
from workers.context import RunnerContext

logger = logging.getLogger(__name__)

TI = TaskInstanceState

OFFLOADED = frozenset({TI.SUCCESS, TI.FAILED, TI.UP_FOR_RETRY, TI.SKIPPED})
"""States whose try is over. A rescheduled sensor or a deferred task continues its try
(its next run resumes the log kept in the database), so its log stays whole there."""


def offload_log(
    claim: Claim, state: TaskInstanceState, record: AttemptRecord, *, ctx: RunnerContext
) -> bool:
    """Upload the finished try's log and keep its tail in the database; True when done."""
    remote = ctx.remote_logs
    if remote is None or state not in OFFLOADED:
        return False
    url = remote.url_for(**try_key(claim))
    try:
        remote.store.put(url, record.log)
    except RemoteLogError as exc:
        logger.warning(
            "%s: uploading its log to %s failed (%s); the database keeps the whole log",
            claim.describe(), url, exc,
        )  # fmt: skip
        return False
    return _keep_tail(claim, state, record, url, remote, ctx=ctx)


def _keep_tail(
    claim: Claim,
    state: TaskInstanceState,
    record: AttemptRecord,
    url: str,
    remote: RemoteLogs,
    *,
    ctx: RunnerContext,
) -> bool:
    """Cut the row's log to its tail, if it still holds what was uploaded."""
    tail = tail_of(record.log, remote.tail_bytes)
    stmt = (
        sa.update(TaskAttempt)
        .where(
            TaskAttempt.task_instance_id == claim.ti_id,
            TaskAttempt.try_number == claim.try_number,
            TaskAttempt.state == state.value,
            TaskAttempt.log_start == record.log_start,
            TaskAttempt.log_remote_url.is_(None),
        )
        .values(
            log=tail,
            log_start=record.log_start + len(record.log) - len(tail),
            log_remote_url=url,
            log_remote_start=record.log_start,
        )
        .execution_options(synchronize_session=False)
    )
    try:
        with ctx.session_factory() as session, session.begin():
            changed = session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]
    except sa.exc.SQLAlchemyError as exc:
        logger.warning(
            "%s: its log is in %s but cutting the database's copy failed (%s); it stays whole",
            claim.describe(), url, exc,
        )  # fmt: skip
        return False
    if changed:
        logger.info("%s: log uploaded to %s; the database keeps its tail", claim.describe(), url)
    return bool(changed)
