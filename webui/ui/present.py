"""How values read on a page: states as a glyph, a word and a colour; dates; durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from markupsafe import Markup

from engine.durations import human_duration
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


def when(moment: datetime | str | None) -> Markup:
    """Every timestamp on a page: ``<time datetime="ISO-UTC">2026-01-05 10:00:00 UTC</time>``.

    Naive values are UTC (SQLite hands them back so). ``static/time.js`` rewrites the text
    in the browser's time zone when the user picked "local"; the attribute stays UTC.
    """
    if isinstance(moment, str):  # an ISO string kept in a JSON document
        return _when_iso(moment)
    if moment is None:
        return Markup("—")
    utc = _in_utc(moment)
    iso = utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Markup('<time datetime="{}">{}</time>').format(iso, when_text(utc))


def when_text(moment: datetime | None) -> str:
    """A timestamp as plain text, where markup cannot go (an ``<option>``, an attribute)."""
    if moment is None:
        return "—"
    return _in_utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def _when_iso(text: str) -> Markup:
    try:
        return when(datetime.fromisoformat(text))
    except ValueError:  # not a timestamp after all: shown as it is
        return Markup("{}").format(text)


def _in_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def next_run(moment: datetime | None) -> Markup:
    """When a DAG's next scheduled run is due: none for an unscheduled DAG."""
    if moment is None or moment >= NEVER:
        return Markup("—")
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
    """A duration as the CLI prints it too (:func:`engine.durations.human_duration`):
    ``29ms``, ``3.2s``, ``2m 5s``; a negative one (clocks apart) as ``0ms``."""
    return human_duration(max(length.total_seconds(), 0.0))


def dag_file(filename: str, dags_folder: Path) -> str:
    """A DAG file's path as its authors know it: relative to the DAGs folder when inside."""
    path = Path(filename)
    return str(path.relative_to(dags_folder)) if path.is_relative_to(dags_folder) else filename


TEMPLATE_HELPERS: dict[str, Any] = {
    "state_value": state_value,
    "state_glyph": state_glyph,
    "state_label": state_label,
    "when": when,
    "when_text": when_text,
    "next_run": next_run,
    "took": took,
}
