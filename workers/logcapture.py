"""One attempt's log: its stdout, stderr and logging records, capped, keeping the tail.

What is captured: everything written to ``sys.stdout`` / ``sys.stderr`` (``print``, the
BashOperator's streamed output, tracebacks printed by the task) and every logging record
that reaches the root logger, except the runner's own heartbeat thread and SQLAlchemy.
Output written straight to file descriptors 1 and 2 (a C extension, a child process
given the worker's own descriptors) is not captured; it goes to the worker's output.

Logging records are captured at the level the worker's logging is configured to (the
entry point sets it from ``logging.level``); this module never changes logger levels.

Every line carries the time it was written, in UTC, in one shape (``2026-12-05
07:42:11,123 ``, logging's ``asctime``): a printed line is stamped when its first
characters arrive (the rest of a line written in pieces is not stamped again); a logging
record starts its own line and carries its own ``asctime`` (never a second stamp; the
lines of its traceback belong to it). Stamps are part of the captured text, so the
offsets a follower counts are those of the stamped output, which only ever grows at its
end.

Only the last ``max_bytes`` bytes (UTF-8) are kept: a task that prints gigabytes keeps
the worker's memory bounded and its log shows how it ended. The first kept line may be
the end of a cut one, without its stamp. With remote logging on, a
:class:`~workers.logspool.LogSpool` given to the buffer receives every piece of text as it
is kept (stamped and redacted the same), so the whole log can be uploaded.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import datetime

from engine.config.masking import redact_secrets
from engine.logformat import UtcFormatter
from engine.timeutil import log_time, utcnow
from workers.logspool import LogSpool

IGNORED_THREAD_PREFIX = "loom-"
"""Records from threads whose name starts with this (the runner's own) are not the task's."""

_IGNORED_LOGGERS = ("sqlalchemy", "workers.", "engine.parser.", "engine.plugins.")
"""Not the task's: the database driver, and the runner's own lines — importing the DAG
file and the plugins included (they go to the worker's log, with the try's ids)."""


@dataclass(frozen=True)
class LogSnapshot:
    """A buffer's kept text at one moment."""

    text: str
    start: int
    """Where ``text`` starts in the whole output (the characters cut from its front)."""
    truncated: bool
    version: int


class TailBuffer(io.TextIOBase):
    """A text stream that stamps each line with ``clock``'s time and keeps only its last
    ``max_bytes`` bytes (UTF-8); ``spool``, when given, gets all of it."""

    def __init__(
        self,
        max_bytes: int,
        *,
        clock: Callable[[], datetime] = utcnow,
        spool: LogSpool | None = None,
    ) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.clock = clock
        self.spool = spool
        self.truncated = False
        self.start = 0
        """Where the kept text starts in the whole output: the characters cut from its front."""
        self.version = 0
        """Counts writes, so a reader can tell cheaply whether anything was added."""
        self._chunks: deque[str] = deque()
        self._size = 0
        self._line_open = False
        """The last line written has no end yet: what comes next continues it."""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def resume(self, earlier: LogSnapshot) -> None:
        """Continue ``earlier`` (the log of a rescheduled sensor's earlier pokes): this
        buffer's text follows it, and offsets into it stay valid. Called before anything
        is written."""
        with self._lock:
            if self.spool is not None:
                self.spool.begin_at(earlier.start)
                self.spool.write(earlier.text)
            self._chunks.appendleft(earlier.text)
            self._size += _size(earlier.text)
            self.start = earlier.start
            self.truncated = earlier.truncated
            if len(self._chunks) == 1:  # nothing written yet: the earlier text's last line
                self._line_open = bool(earlier.text) and not earlier.text.endswith("\n")
            self.version += 1
            self._trim()

    def write(self, text: str) -> int:
        """Printed text: each line is stamped where it starts."""
        if not text:
            return 0
        length = len(text)
        text = redact_secrets(text)  # connection passwords, sensitive variables
        with self._lock:
            self._append(self._stamped(text))
        return length

    def write_record(self, text: str) -> None:
        """A formatted logging record (it carries its own time): on a line of its own,
        not stamped again."""
        if not text:
            return
        text = redact_secrets(text)
        with self._lock:
            self._append(("\n" if self._line_open else "") + text)

    def _stamped(self, text: str) -> str:
        """``text`` with the time before each line it starts (an empty line included)."""
        if "\n" not in text[:-1]:  # at most one line, as print's writes are
            return text if self._line_open else f"{log_time(self.clock())} {text}"
        stamp = log_time(self.clock()) + " "
        pieces = text.split("\n")
        last = len(pieces) - 1
        return "\n".join(
            stamp + piece if (index or not self._line_open) and (piece or index < last) else piece
            for index, piece in enumerate(pieces)
        )

    def _append(self, text: str) -> None:
        self._line_open = not text.endswith("\n")
        if self.spool is not None:
            self.spool.write(text)
        self._chunks.append(text)
        self._size += _size(text)
        self.version += 1
        self._trim()

    def getvalue(self) -> str:
        """The kept text (at most ``max_bytes`` bytes)."""
        return self.snapshot().text

    def snapshot(self) -> LogSnapshot:
        """The kept text and where it starts, read together."""
        with self._lock:
            return LogSnapshot("".join(self._chunks), self.start, self.truncated, self.version)

    def _trim(self) -> None:
        while self._size > self.max_bytes and self._chunks:
            self.truncated = True
            excess = self._size - self.max_bytes
            front = self._chunks[0]
            front_size = _size(front)
            if front_size <= excess:
                self._chunks.popleft()
                self._size -= front_size
                self.start += len(front)
                continue
            # Cut inside the first chunk; a character split in two is dropped whole.
            kept = front.encode("utf-8", "replace")[excess:].decode("utf-8", "ignore")
            self._chunks[0] = kept
            self.start += len(front) - len(kept)
            self._size += _size(kept) - front_size


def _size(text: str) -> int:
    return len(text.encode("utf-8", "replace"))


class _RecordHandler(logging.Handler):
    """Writes each record into a :class:`TailBuffer` as a record (its own time, no stamp)."""

    def __init__(self, buffer: TailBuffer) -> None:
        super().__init__()
        self.buffer = buffer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.buffer.write_record(self.format(record) + "\n")
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - logging's own contract: report it, never raise
            self.handleError(record)


class _TaskRecords(logging.Filter):
    """Lets through the records a task's log should show."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (record.threadName or "").startswith(IGNORED_THREAD_PREFIX):
            return False
        return not record.name.startswith(_IGNORED_LOGGERS)


@contextmanager
def capture_output(buffer: TailBuffer) -> Iterator[TailBuffer]:
    """Send stdout, stderr and logging into ``buffer`` inside the block."""
    handler = _RecordHandler(buffer)
    handler.setFormatter(UtcFormatter())
    handler.addFilter(_TaskRecords())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with redirect_stdout(buffer), redirect_stderr(buffer):
            yield buffer
    finally:
        root.removeHandler(handler)
