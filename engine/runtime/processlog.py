"""How Loom's processes log: lines for people, or one JSON object per line for log
collectors (``logging.format: json``), each carrying the ids of the try it concerns.

A worker marks the try it runs with :func:`try_ids`; every record logged meanwhile in
that context (the runner's, the engine's, the task's own) carries ``dag_id``,
``run_id``, ``task_id`` and ``try_number``. A record may also name them itself through
``extra=``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from engine.config.schema import LoggingSettings
from engine.logformat import UtcFormatter

ID_FIELDS = ("dag_id", "run_id", "task_id", "map_index", "try_number")

_current_try: ContextVar[dict[str, Any] | None] = ContextVar("loom_current_try", default=None)


@contextmanager
def try_ids(
    *, dag_id: str, run_id: str, task_id: str, map_index: int = -1, try_number: int
) -> Iterator[None]:
    """Within this block, every log record carries these ids (``map_index`` when mapped)."""
    ids: dict[str, Any] = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id}
    if map_index >= 0:
        ids["map_index"] = map_index
    token = _current_try.set({**ids, "try_number": try_number})
    try:
        yield
    finally:
        _current_try.reset(token)


class TryIdsFilter(logging.Filter):
    """Puts the current try's ids on a record (unless the record names its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _current_try.get()
        if ids:
            for key, value in ids.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message,
    process, the try's ids when known, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key in ID_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            # A filter may have rendered (and masked) the traceback already.
            line["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(settings: LoggingSettings) -> None:
    """Log to stderr at ``settings.level`` in ``settings.format``, replacing the handlers
    set up before (the CLI's default)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(TryIdsFilter())
    formatter = JsonLineFormatter() if settings.format == "json" else UtcFormatter()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for previous in list(root.handlers):
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(settings.level)
