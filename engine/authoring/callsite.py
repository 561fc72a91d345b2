"""Where in a DAG file something was declared, for error messages with file and line."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

_LOOM_ROOT = Path(__file__).resolve().parents[2]
_LOOM_DIRS = tuple(str(_LOOM_ROOT / name) + "/" for name in ("engine", "plugins"))


@dataclass(frozen=True)
class CallSite:
    """A file and line in user code."""

    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.file is None:
            return "<unknown>"
        return f"{self.file}:{self.line}" if self.line else self.file


def user_call_site() -> CallSite:
    """Where user code constructed the current object or made the current call.

    The innermost frame outside Loom's own packages, installed libraries and the standard
    library; ``__init__`` frames are passed over, so that a custom operator's
    ``super().__init__(...)`` reports the line that created the task, not its class.
    """
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name != "__init__" and not _is_library(code.co_filename):
            return CallSite(code.co_filename, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return CallSite()


def _is_library(filename: str) -> bool:
    return (
        filename.startswith(_LOOM_DIRS)
        or filename.startswith("<frozen")
        or "/site-packages/" in filename
        or filename.startswith(sys.prefix + "/lib/")
        or filename.startswith(sys.base_prefix + "/lib/")
    )
