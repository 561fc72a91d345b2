"""The calendar of a DAG's runs: a year of days, a column per week (Monday first), each
day coloured by the outcome of its runs (by logical date, in UTC).

A day with a failed run is ``failed``, else one with a queued or running run is
``running``, else one whose runs all succeeded is ``success``; a day without runs is
``none``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from engine.services.runhistory import runs_per_day
from engine.state import DagRunState

CELL = 14
"""Pixels from one day's square to the next (a 12-pixel square and its gap)."""
LEFT, TOP = 30, 16
"""Room for the weekday labels (left) and the month labels (top)."""
WEEKDAYS = ((0, "Mon"), (2, "Wed"), (4, "Fri"))
"""The rows labelled (every other, as calendars of activity do)."""


@dataclass(frozen=True)
class CalendarDay:
    """One day of the calendar and its runs counted by state."""

    day: date
    counts: dict[DagRunState, int]
    column: int
    row: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def outcome(self) -> str:
        """``failed``, ``running``, ``success`` or ``none`` (see the module)."""
        if self.counts.get(DagRunState.FAILED):
            return "failed"
        if self.counts.get(DagRunState.RUNNING) or self.counts.get(DagRunState.QUEUED):
            return "running"
        return "success" if self.total else "none"

    @property
    def label(self) -> str:
        """What hovering or a screen reader tells: ``2026-12-05: 3 runs (2 success, 1 failed)``."""
        if not self.total:
            return f"{self.day.isoformat()}: no runs"
        parts = ", ".join(f"{self.counts[s]} {s.value}" for s in DagRunState if self.counts.get(s))
        runs = "1 run" if self.total == 1 else f"{self.total} runs"
        return f"{self.day.isoformat()}: {runs} ({parts})"

    @property
    def x(self) -> int:
        return LEFT + self.column * CELL

    @property
    def y(self) -> int:
        return TOP + self.row * CELL


@dataclass(frozen=True)
class Calendar:
    """A year's days, the months' labels and the chart's size."""

    year: int
    days: list[CalendarDay]
    months: list[tuple[str, int]]
    """Each month's short name and the x of its first week."""
    weekdays: list[tuple[str, int]]
    """Labelled weekdays and their y."""
    width: int
    height: int

    @property
    def with_runs(self) -> list[CalendarDay]:
        return [day for day in self.days if day.total]

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)


def calendar_of(*, session: Session, dag_id: str, year: int) -> Calendar:
    """The calendar of ``dag_id``'s runs in ``year`` (UTC days)."""
    first, after = date(year, 1, 1), date(year + 1, 1, 1)
    counts = runs_per_day(
        session=session, dag_id=dag_id, start=_midnight(first), end=_midnight(after)
    )
    monday = first - timedelta(days=first.weekday())
    days = []
    for offset in range((after - first).days):
        day = first + timedelta(days=offset)
        column = (day - monday).days // 7
        days.append(CalendarDay(day, counts.get(day, {}), column, day.weekday()))
    months = [
        (
            date(year, month, 1).strftime("%b"),
            LEFT + ((date(year, month, 1) - monday).days // 7) * CELL,
        )
        for month in range(1, 13)
    ]
    weekdays = [(name, TOP + row * CELL + 10) for row, name in WEEKDAYS]
    weeks = days[-1].column + 1
    return Calendar(year, days, months, weekdays, LEFT + weeks * CELL, TOP + 7 * CELL)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The first and the last moment of ``day`` in UTC."""
    return _midnight(day), _midnight(day + timedelta(days=1)) - timedelta(microseconds=1)
