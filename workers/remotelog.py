"""Offloading a finished try's log to the remote store (``logging.remote_base_url``).

Runs after the finish committed, in no transaction while the upload travels: the whole
log, spooled to a temporary file while the try ran (:mod:`workers.logspool`), is put,
then one guarded ``UPDATE`` cuts the row's copy to its tail and records the object's URL
and where it starts. Until then, and for good when the upload fails, the row holds what
the capture kept (the last ``core.max_log_bytes``): a failure is logged as a warning and
leaves the try's outcome as it was. A log past ``logging.remote_max_bytes`` is uploaded as
its head, the database keeping its tail; a spool that could not be written falls back to
uploading the kept tail. With remote logging off this costs one ``is None`` check.
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
from workers.logspool import LogSpool

logger = logging.getLogger(__name__)

TI = TaskInstanceState

OFFLOADED = frozenset({TI.SUCCESS, TI.FAILED, TI.UP_FOR_RETRY, TI.SKIPPED})
"""States whose try is over. A rescheduled sensor or a deferred task continues its try
(its next run resumes the log kept in the database), so its log stays whole there."""


def offload_log(
    claim: Claim,
    state: TaskInstanceState,
    record: AttemptRecord,
    spool: LogSpool | None = None,
    *,
    ctx: RunnerContext,
) -> bool:
    """Upload the finished try's log (``spool``'s whole log when it has one, else the kept
    text) and keep its tail in the database; True when done."""
    remote = ctx.remote_logs
    if remote is None or state not in OFFLOADED:
        return False
    url = remote.url_for(**try_key(claim))
    try:
        start, whole = _upload(claim, url, record, spool, remote)
    except RemoteLogError as exc:
        kept = "its last core.max_log_bytes" if record.log_truncated else "the whole log"
        logger.warning(
            "%s: uploading its log to %s failed (%s); the database keeps %s",
            claim.describe(), url, exc, kept,
        )  # fmt: skip
        return False
    # A log whose middle is missing keeps all the capture kept, so as to lose the least.
    tail = tail_of(record.log, remote.tail_bytes) if whole else record.log
    return _keep_tail(claim, state, record, url, start, tail, ctx=ctx)


def _upload(
    claim: Claim, url: str, record: AttemptRecord, spool: LogSpool | None, remote: RemoteLogs
) -> tuple[int, bool]:
    """Put the log at ``url``; where the uploaded text starts in the try's output, and
    whether it runs on to the end of the kept text (no gap between them)."""
    if spool is not None and spool.failed is None:
        whole = spool.complete(record.log, record.log_start)
        if spool.failed is None:
            if not whole:
                logger.warning(
                    "%s: its log passed logging.remote_max_bytes (%s): %s keeps its first "
                    "%s characters, the database its tail; the %s between are not kept",
                    claim.describe(), remote.max_bytes, url, spool.chars,
                    record.log_start - spool.end,
                )  # fmt: skip
            remote.store.put_file(url, spool.contents())
            return spool.start, whole
    if spool is not None:
        logger.warning(
            "%s: its log spool failed (%s); uploading the last core.max_log_bytes only",
            claim.describe(), spool.failed,
        )  # fmt: skip
    remote.store.put(url, record.log)
    return record.log_start, True


def _keep_tail(
    claim: Claim,
    state: TaskInstanceState,
    record: AttemptRecord,
    url: str,
    remote_start: int,
    tail: str,
    *,
    ctx: RunnerContext,
) -> bool:
    """Cut the row's log to ``tail``, if it still holds what the capture kept; the object
    at ``url`` holds the output from ``remote_start`` on."""
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
            log_remote_start=remote_start,
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
