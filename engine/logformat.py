"""How Loom's text log lines read, in a process's log and in a task's log alike:
``2026-12-05 07:42:11,123 INFO engine.scheduler: message``, the time in UTC.

UTC because a task's log stamps its printed lines in UTC (:func:`engine.timeutil.log_time`)
and the pages show UTC by default: one line of the scheduler's log and one of a task's
read side by side without converting. A small module of its own, as the CLI sets up its
logging before it imports anything heavy.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from engine.timeutil import log_time

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class UtcFormatter(logging.Formatter):
    """:data:`TEXT_FORMAT` (or ``fmt``) with ``asctime`` in UTC, as :func:`log_time` writes it."""

    def __init__(self, fmt: str = TEXT_FORMAT) -> None:
        super().__init__(fmt)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return log_time(datetime.fromtimestamp(record.created, UTC))
