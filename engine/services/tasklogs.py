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
    in between was cut (core.max_log_bytes, or logging.remote_max_bytes for a log whose
    head alone is in the remote store), or is in a remote store that could not be read
    (``note`` says so). When the store holds only a log's head, a chunk that starts in it
    holds the head, then the tail (``note`` says what lies between is missing).
    """

    try_number: int
    state: str
    content: str
    offset: int
    next_offset: int
    truncated: bool
    """Output is missing from the log as kept: it passed core.max_log_bytes (the database
    keeps the tail) and the remote store, when there is one, does not hold it whole."""
    complete: bool
    """The try has finished: nothing will be added."""
    note: str | None = None
    """Why ``content`` misses text: the start of the log is in a remote store that could
    not be read, or its middle was not kept (logging.remote_max_bytes); None when nothing
    is missing so."""


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
    if attempt.log_remote_url is not None and offset < attempt.log_start:
        return _remote_chunk(attempt, attempt.log_remote_url, offset, remote)
    return _chunk(attempt, attempt.log or "", attempt.log_start, offset)


def _chunk(
    attempt: TaskAttempt,
    text: str,
    kept_from: int,
    offset: int,
    *,
    end: int | None = None,
    note: str | None = None,
    truncated: bool | None = None,
) -> LogChunk:
    """``text`` (which starts at ``kept_from`` of the output) from ``offset`` on; ``end``:
    where it ends in the output, when something in between is missing from ``text``;
    ``truncated``: whether output is missing, when it is not the capture's word."""
    start = min(max(offset - kept_from, 0), len(text))
    return LogChunk(
        try_number=attempt.try_number,
        state=attempt.state,
        content=text[start:],
        offset=kept_from + start,
        next_offset=kept_from + len(text) if end is None else end,
        truncated=attempt.log_truncated if truncated is None else truncated,
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


def _remote_chunk(
    attempt: TaskAttempt, url: str, offset: int, remote: RemoteLogStore | None
) -> LogChunk:
    """From ``offset`` on, with what lies before the database's tail read from the object
    at ``url``; the tail and a note when the store cannot be read."""
    tail, kept_from = attempt.log or "", attempt.log_start
    if remote is None:
        why = "this process has no logging.remote_base_url configured"
    else:
        try:
            text = remote.get(url)
        except RemoteLogError as exc:
            why = f"it could not be read: {exc}"
        else:
            return _joined(attempt, text, offset)
    note = (
        f"The first {kept_from - attempt.log_remote_start} characters of this log are in "
        f"{url}, but {why}; showing the last {len(tail)} characters kept in the database."
    )
    return _chunk(attempt, tail, kept_from, offset, note=note)


def _joined(attempt: TaskAttempt, head: str, offset: int) -> LogChunk:
    """The uploaded text ``head`` and the database's tail from ``offset`` on. The object
    holds the whole log, or only its first logging.remote_max_bytes: then the text between
    is missing, the chunk holds both parts and its note says what is missing where."""
    tail, kept_from = attempt.log or "", attempt.log_start
    head_from = attempt.log_remote_start
    head_end = head_from + len(head)
    if head_end >= kept_from:  # the whole log (a resumed sensor's may lack its start)
        return _chunk(attempt, head, head_from, offset, truncated=head_from > 0)
    if offset >= head_end:  # asked for the missing part: the tail, from its start
        return _chunk(attempt, tail, kept_from, offset)
    note = (
        f"This log passed logging.remote_max_bytes: characters {head_end} to {kept_from} "
        f"of it were not kept; it shows the first {len(head)} characters, from "
        f"{attempt.log_remote_url}, then the last {len(tail)}, from the database."
    )
    end = kept_from + len(tail)
    return _chunk(attempt, head + tail, head_from, offset, end=end, note=note)
