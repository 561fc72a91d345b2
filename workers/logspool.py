"""The whole log of a try whose log goes to a remote store, spooled to a temporary file.

The capture (:class:`workers.logcapture.TailBuffer`) keeps only the last
``core.max_log_bytes`` in memory; with ``logging.remote_base_url`` set it also writes every
piece of text it keeps, stamped and redacted exactly as kept, to a :class:`LogSpool`, so
that the uploaded object is the whole log and not only its capped tail.

The spool is bounded by ``logging.remote_max_bytes`` (UTF-8 bytes): past it, it keeps its
head and writes no more (``cut``); the in-memory tail still holds the end, so the upload
keeps the head and the database the tail (see docs/decisions.md). A spool that cannot be
written (a full disk) stops quietly (``failed``): the task never fails because of it, and
the upload falls back to the in-memory tail. Its file lives in the worker's temporary
directory (``TMPDIR``) with no name: it is unlinked as it is made, so its space returns
when :meth:`LogSpool.close` closes it, or when the worker dies, even by SIGKILL.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import BinaryIO

logger = logging.getLogger(__name__)


class LogSpool:
    """An append-only file of a try's captured text, at most ``max_bytes`` of it."""

    def __init__(self, max_bytes: int, *, directory: Path | None = None) -> None:
        self.max_bytes = max_bytes
        self._file: BinaryIO = tempfile.TemporaryFile(  # noqa: SIM115 - closed by close()
            "w+b", prefix="loom-log-", suffix=".log", dir=directory
        )
        self.start = 0
        """Where the spooled text starts in the try's whole output (characters)."""
        self.chars = 0
        """Characters spooled."""
        self.size = 0
        """Bytes spooled (UTF-8)."""
        self.cut = False
        """It passed ``max_bytes``: what came after its head was not spooled."""
        self.failed: OSError | None = None
        """Writing failed: the spool is of no use."""
        self._line_end: tuple[int, int] | None = None
        """Bytes and characters up to the end of the last whole line spooled."""

    @property
    def end(self) -> int:
        """Where the spooled text ends in the whole output."""
        return self.start + self.chars

    def begin_at(self, start: int) -> None:
        """The spool's text starts at ``start`` of the output (a resumed try's earlier log
        was cut at its front); only before anything was written."""
        if self.chars:
            raise ValueError("a spool's start is set before anything is written")
        self.start = start

    def write(self, text: str) -> None:
        """Append ``text``; past ``max_bytes``, end the spool at the last line end that fits."""
        if self.cut or self.failed is not None or not text:
            return
        data = text.encode("utf-8", "replace")
        try:
            if self.size + len(data) > self.max_bytes:
                self._cut(data)
            else:
                self._append(text, data)
        except OSError as exc:
            self.failed = exc

    def _append(self, text: str, data: bytes) -> None:
        self._file.write(data)
        self.chars += len(text)
        self.size += len(data)
        line_end = text.rfind("\n")
        if line_end >= 0:
            after = text[line_end + 1 :]
            self._line_end = (self.size - _size(after), self.chars - len(after))

    def _cut(self, data: bytes) -> None:
        self.cut = True
        text, head = _head(data, self.max_bytes - self.size)
        if "\n" in text or self._line_end is None:
            self._append(text, head)  # up to its last line end, else its last character
            return
        self.size, self.chars = self._line_end  # back to the end of the last whole line
        self._file.flush()
        self._file.truncate(self.size)
        self._file.seek(self.size)

    def complete(self, text: str, start: int) -> bool:
        """Add the part of ``text`` (the kept tail, starting at ``start`` of the output) that
        follows the spooled head, when nothing lies between them, and flush the file;
        True when it then holds the whole output up to ``text``'s end."""
        if self.failed is not None:
            return False
        whole = self.start <= start <= self.end
        try:
            if whole:
                rest = text[self.end - start :]
                self._append(rest, rest.encode("utf-8", "replace"))
            self._file.flush()  # all of it on disk, for the upload to read
        except OSError as exc:
            self.failed = exc
            return False
        self.cut = self.cut and not whole
        return whole

    def contents(self) -> BinaryIO:
        """The spooled bytes to read from their start (after :meth:`complete`); the spool
        writes nothing more."""
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        """Close the file, which returns its space (idempotent)."""
        try:
            self._file.close()
        except OSError as exc:
            logger.warning("closing the log spool failed: %s", exc)


def _head(data: bytes, room: int) -> tuple[str, bytes]:
    """The start of ``data`` that fits in ``room`` bytes: up to its last line end, else up
    to its last whole character."""
    kept = data[: max(room, 0)]
    line_end = kept.rfind(b"\n")
    if line_end >= 0:
        kept = kept[: line_end + 1]
    text = kept.decode("utf-8", "ignore")
    return text, text.encode("utf-8", "replace")


def _size(text: str) -> int:
    return len(text.encode("utf-8", "replace"))
