"""Where in a DAG file something was declared, for error messages with file and line."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

_ENGINE_DIR = str(Path(__file__).resolve().parent)


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
    """The innermost frame outside Loom's own ``engine`` package and the standard library."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_ENGINE_DIR) and not _is_library(filename):
            return CallSite(filename, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return CallSite()


def _is_library(filename: str) -> bool:
    return filename.startswith("<frozen") or (
        "/lib/python3" in filename and "site-packages" not in filename
    )
