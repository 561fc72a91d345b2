"""How values read on a page: states as a glyph, a word and a colour; dates; durations."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from engine.scheduling import NEVER

STATE_GLYPHS: dict[str, str] = {
    "success": "✓",
    "failed": "✗",
    "running": "▶",
    "queued": "⋯",
    "scheduled": "◷",
    "up_for_retry": "↻",
    "up_for_reschedule": "⧖",
    "deferred": "⏸",
    "upstream_failed": "⊘",
    "skipped": "»",
    "none": "·",
}
"""A glyph per state, so that a state never reads by colour alone."""


def state_value(state: Any) -> str:
    """The plain state name of an enum member, a string or None."""
    if state is None:
        return "none"
    return str(getattr(state, "value", state))


def state_glyph(state: Any) -> str:
    return STATE_GLYPHS.get(state_value(state), "?")


def state_label(state: Any) -> str:
    return state_value(state).replace("_", " ")


def when(moment: datetime | None) -> str:
    """A timestamp as it reads in tables: UTC, to the second."""
    if moment is None:
        return "—"
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def next_run(moment: datetime | None) -> str:
    """When a DAG's next scheduled run is due: none for an unscheduled DAG."""
    if moment is None or moment >= NEVER:
        return "—"
    return when(moment)


def took(start: datetime | None, end: datetime | None, now: datetime | None = None) -> str:
    """How long from ``start`` to ``end`` (or ``now`` while running): ``1h 02m``, ``3.2s``."""
    if start is None:
        return "—"
    stop = end or now
    if stop is None:
        return "—"
    return span(stop - start)


def span(length: timedelta) -> str:
    seconds = max(length.total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def dag_file(filename: str, dags_folder: Path) -> str:
    """A DAG file's path as its authors know it: relative to the DAGs folder when inside."""
    path = Path(filename)
    return str(path.relative_to(dags_folder)) if path.is_relative_to(dags_folder) else filename


TEMPLATE_HELPERS: dict[str, Any] = {
    "state_value": state_value,
    "state_glyph": state_glyph,
    "state_label": state_label,
    "when": when,
    "next_run": next_run,
    "took": took,
}
