"""Metric names in PromQL expressions, without a PromQL parser: enough for the
expressions of Loom's alert rules and dashboard, which the tests check against the
names Loom's processes expose (``KNOWN_METRICS``)."""

from __future__ import annotations

import re

HISTOGRAMS = frozenset(
    {
        "flask_http_request_duration_seconds",
        "loom_task_duration_seconds",
        "loom_scheduling_delay_seconds",
        "loom_scheduler_tick_duration_seconds",
    }
)
KNOWN_METRICS = HISTOGRAMS | {
    "flask_http_request_total",
    "loom_dag_runs",
    "loom_task_instances",
    "loom_queue_depth",
    "loom_dead_letters",
    "loom_outbox_backlog",
    "loom_outbox_oldest_age_seconds",
    "loom_parse_errors",
    "loom_zombies_detected_total",
    "loom_notification_deliveries_total",
    "loom_task_attempts_total",
    "loom_state_read_ok",  # engine/metrics/state.py: 0 while a state read fails
    "up",  # Prometheus' own, one per scrape target
}
"""What Loom's processes expose (deploy/prometheus/README.md), and Prometheus' ``up``."""

KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "inf", "nan", "group_left", "group_right"}
)
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_LABEL_LISTS = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_NUMBERS = re.compile(r"(?<![\w:])\d[\d.]*(?:[eE][+-]?\d+)?")
_DURATIONS = re.compile(r"\boffset\s+\S+", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects, as written (``foo_bucket`` stays so)."""
    text = _STRINGS.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _LABEL_LISTS.sub(" ", text)
    text = _DURATIONS.sub(" ", text)
    text = _NUMBERS.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if match.group().lower() not in KEYWORDS:
            names.add(match.group())
    return names


def base_name(name: str) -> str:
    """A histogram's family name for its ``_bucket``, ``_sum`` and ``_count`` series."""
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name.removesuffix(suffix) in HISTOGRAMS:
            return name.removesuffix(suffix)
    return name


def unknown_metrics(exprs: list[str]) -> dict[str, set[str]]:
    """Per expression, the names it uses that Loom does not expose."""
    found = {}
    for expr in exprs:
        unknown = {base_name(n) for n in metric_names(expr)} - KNOWN_METRICS
        if unknown:
            found[expr] = unknown
    return found
