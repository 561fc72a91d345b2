"""Reading a try's log: the database's copy, and the remote object when the database
keeps only its tail (``logging.remote_base_url``, see :mod:`engine.execution.remotelogs`).

Every reader (the API, the UI, ``loom tasks logs``) goes through :func:`log_chunk`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import NotFoundError
from engine.execution.remotelogs import RemoteLogError, RemoteLogStore
from engine.models import TaskAttempt, TaskInstance
from engine.state import FINISHED, TaskInstanceState

TI = TaskInstanceState


@dataclass(frozen=True)
class LogChunk:
    """Part of one try's log: ``content`` starts at ``offset``; ask again from ``next_offset``.

    Offsets count characters of the try's whole output, so they stay valid while the kept
    tail of a long log moves on: an ``offset`` beyond the one asked for means the output
    in between was cut (core.max_log_bytes), or is in a remote store that could not be
    read (``note`` says so).
    """

    try_number: int
    state: str
    content: str
    offset: int
    next_offset: int
    truncated: bool
    """The captured log was cut (it keeps the tail) because it passed core.max_log_bytes."""
    complete: bool
    """The try has finished: nothing will be added."""
    note: str | None = None
    """Why ``content`` starts later than asked although the text exists: the start of the
    log is in a remote store that could not be read; None when nothing is missing so."""


def log_chunk(
    *,
    session: Session,
    ti: TaskInstance,
    try_number: int | None,
    offset: int = 0,
    remote: RemoteLogStore | None = None,
) -> LogChunk:
    """Try ``try_number``'s log (default: the latest try with a log) from ``offset`` on.

    A running try's log grows as the worker streams it (core.log_stream_interval). When
    the database keeps only the tail of a finished try's log and ``offset`` asks for text
    before it, the whole log is read from ``remote`` (the tail and a note when it cannot
    be). NotFoundError for a try that does not exist, or when no try has started yet.
    """
    if try_number is not None and not 1 <= try_number <= max(ti.try_number, 0):
        raise NotFoundError(
            f"task {ti.task_id!r} has no try {try_number} (it is at try {ti.try_number})"
        )
    query = sa.select(TaskAttempt).where(TaskAttempt.task_instance_id == ti.id)
    if try_number is not None:
        query = query.where(TaskAttempt.try_number == try_number)
    attempt = session.scalar(query.order_by(TaskAttempt.try_number.desc()).limit(1))
    if attempt is None:
        if try_number is None:
            raise NotFoundError(
                f"task {ti.task_id!r} has no log yet: no try has started (state {ti.state.value})"
            )
        # A try that never started (or whose row is still to come): nothing will be added
        # once the task instance has moved past it.
        over = ti.state in FINISHED or try_number < ti.try_number
        return LogChunk(try_number, ti.state.value, "", 0, 0, False, over)
    text, kept_from, note = attempt.log or "", attempt.log_start, None
    if attempt.log_remote_url is not None and offset < kept_from:
        text, kept_from, note = _whole_log(attempt, attempt.log_remote_url, remote)
    start = min(max(offset - kept_from, 0), len(text))
    return LogChunk(
        try_number=attempt.try_number,
        state=attempt.state,
        content=text[start:],
        offset=kept_from + start,
        next_offset=kept_from + len(text),
        truncated=attempt.log_truncated,
        complete=attempt.state != TI.RUNNING.value,
        note=note,
    )


def whole_lines(chunk: LogChunk) -> LogChunk:
    """``chunk`` without the line a running try is still writing: a reader that splits a
    log into lines asks again from that line's start and gets it whole, once, with its
    stamp. A finished try's chunk is returned as it is."""
    if chunk.complete or chunk.content.endswith("\n"):
        return chunk
    kept = chunk.content.rfind("\n") + 1
    return replace(chunk, content=chunk.content[:kept], next_offset=chunk.offset + kept)


def _whole_log(
    attempt: TaskAttempt, url: str, remote: RemoteLogStore | None
) -> tuple[str, int, str | None]:
    """The uploaded log and where it starts; the database's tail and a note when the
    remote store cannot be read."""
    tail, kept_from = attempt.log or "", attempt.log_start
    missing = kept_from - attempt.log_remote_start
    if remote is None:
        why = "this process has no logging.remote_base_url configured"
    else:
        try:
            return remote.get(url), attempt.log_remote_start, None
        except RemoteLogError as exc:
            why = f"it could not be read: {exc}"
    note = (
        f"The first {missing} characters of this log are in {url}, but {why}; "
        f"showing the last {len(tail)} characters kept in the database."
    )
    return tail, kept_from, note
