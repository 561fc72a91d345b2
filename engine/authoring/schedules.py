"""Schedules: which data intervals a DAG runs for, and when each run becomes due.

Semantics follow Airflow: a run covers the data interval ``[start, end)`` and is created
once ``end`` has passed; its logical date is ``start``. ``@once`` runs a single time at
``start_date``; ``None`` means manual triggers only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import InvalidInputError
from engine.timeutil import ensure_aware

PRESETS: dict[str, str | None] = {
    "@once": None,
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


@dataclass(frozen=True)
class DataInterval:
    """The span of data one run covers; ``start`` is the run's logical date."""

    start: datetime
    end: datetime


class Schedule(Protocol):
    """What the scheduler asks of a DAG's schedule."""

    @property
    def description(self) -> str: ...

    def next_interval(
        self,
        *,
        last: DataInterval | None,
        start_date: datetime,
        end_date: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> DataInterval | None:
        """The interval of the next run to create (due once its ``end`` has passed)."""
        ...

    def interval_for(self, logical_date: datetime) -> DataInterval:
        """The interval a manual run at ``logical_date`` covers."""
        ...

    def serialize(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class NoSchedule:
    """Manual triggers only."""

    description: str = "None"

    def next_interval(self, **_: Any) -> DataInterval | None:
        return None

    def interval_for(self, logical_date: datetime) -> DataInterval:
        return DataInterval(logical_date, logical_date)

    def serialize(self) -> dict[str, Any]:
        return {"kind": "none"}


@dataclass(frozen=True)
class OnceSchedule:
    """A single run at ``start_date``."""

    description: str = "@once"

    def next_interval(
        self, *, last: DataInterval | None, start_date: datetime, **_: Any
    ) -> DataInterval | None:
        if last is not None:
            return None
        return DataInterval(start_date, start_date)

    def interval_for(self, logical_date: datetime) -> DataInterval:
        return DataInterval(logical_date, logical_date)

    def serialize(self) -> dict[str, Any]:
        return {"kind": "once"}


class _BackToBack(ABC):
    """Intervals that follow each other without gap: each run starts where the last one
    ended. Without ``catchup`` only the latest interval that has ended runs; none starts
    after ``end_date``. Subclasses say where intervals start and how long they are."""

    @abstractmethod
    def _first_start(self, start_date: datetime) -> datetime:
        """Where the first interval starts, for a DAG starting at ``start_date``."""

    @abstractmethod
    def _latest_start(self, start: datetime, now: datetime) -> datetime:
        """Where to start instead of ``start`` without catchup: the latest interval that
        has ended by ``now``, unless ``start`` is later."""

    @abstractmethod
    def _manual_start(self, logical_date: datetime) -> datetime:
        """Where the interval of a manual run at ``logical_date`` starts."""

    @abstractmethod
    def _end(self, start: datetime) -> datetime:
        """The end of the interval starting at ``start``."""

    def next_interval(
        self,
        *,
        last: DataInterval | None,
        start_date: datetime,
        end_date: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> DataInterval | None:
        start = last.end if last else self._first_start(start_date)
        if not catchup:
            start = self._latest_start(start, now)
        if end_date is not None and start > end_date:
            return None
        return DataInterval(start, self._end(start))

    def interval_for(self, logical_date: datetime) -> DataInterval:
        start = self._manual_start(logical_date)
        return DataInterval(start, self._end(start))


@dataclass(frozen=True)
class CronSchedule(_BackToBack):
    """Intervals between consecutive ticks of a cron expression, in a time zone."""

    expression: str
    timezone: str = "UTC"
    preset: str | None = None

    @property
    def description(self) -> str:
        return self.preset or self.expression

    def _tick(self, moment: datetime, *, forward: bool, inclusive: bool) -> datetime:
        from croniter import croniter  # here: reading a serialized DAG needs no croniter

        local = moment.astimezone(ZoneInfo(self.timezone))
        if inclusive and croniter.match(self.expression, local):
            return moment
        it = croniter(self.expression, local)
        result = it.get_next(datetime) if forward else it.get_prev(datetime)
        return ensure_aware(result).astimezone(UTC)

    def _first_start(self, start_date: datetime) -> datetime:
        return self._tick(start_date, forward=True, inclusive=True)

    def _latest_start(self, start: datetime, now: datetime) -> datetime:
        latest_end = self._tick(now, forward=False, inclusive=True)
        return max(start, self._tick(latest_end, forward=False, inclusive=False))

    def _manual_start(self, logical_date: datetime) -> datetime:
        return self._tick(logical_date, forward=False, inclusive=True)

    def _end(self, start: datetime) -> datetime:
        return self._tick(start, forward=True, inclusive=False)

    def serialize(self) -> dict[str, Any]:
        return {
            "kind": "cron",
            "expression": self.expression,
            "timezone": self.timezone,
            "preset": self.preset,
        }


@dataclass(frozen=True)
class DeltaSchedule(_BackToBack):
    """Back-to-back intervals of a fixed length, counted from ``start_date``."""

    delta: timedelta

    @property
    def description(self) -> str:
        return f"every {self.delta}"

    def _first_start(self, start_date: datetime) -> datetime:
        return start_date

    def _latest_start(self, start: datetime, now: datetime) -> datetime:
        if now - self.delta <= start:
            return start
        complete = (now - start) // self.delta  # whole intervals that have ended
        return start + (complete - 1) * self.delta

    def _manual_start(self, logical_date: datetime) -> datetime:
        return logical_date

    def _end(self, start: datetime) -> datetime:
        return start + self.delta

    def serialize(self) -> dict[str, Any]:
        return {"kind": "delta", "seconds": self.delta.total_seconds()}


_TIMETABLES: dict[str, type[Any]] = {}
"""Timetable classes of the loaded plugins (see :mod:`engine.plugins`), by
:func:`timetable_key`."""


def set_plugin_timetables(classes: Mapping[str, type[Any]]) -> None:
    """Make plugins' timetable classes usable as ``schedule=`` and readable when serialized."""
    _TIMETABLES.clear()
    _TIMETABLES.update(classes)


def timetable_key(cls: type[Any]) -> str:
    """The name a serialized DAG records for a timetable class: ``module.Class``."""
    return f"{cls.__module__}.{cls.__qualname__}"


@dataclass(frozen=True)
class PluginTimetable:
    """A plugin's timetable instance as a schedule: it decides the intervals; the class
    name and its ``serialize()`` data are what the database keeps."""

    timetable: Any
    key: str

    @property
    def description(self) -> str:
        return str(self.timetable.description)

    def next_interval(self, **arguments: Any) -> DataInterval | None:
        result: DataInterval | None = self.timetable.next_interval(**arguments)
        return result

    def interval_for(self, logical_date: datetime) -> DataInterval:
        result: DataInterval = self.timetable.interval_for(logical_date)
        return result

    def serialize(self) -> dict[str, Any]:
        return {"kind": "timetable", "class": self.key, "data": self.timetable.serialize()}


def _plugin_timetable(value: object) -> PluginTimetable | None:
    key = timetable_key(type(value))
    return PluginTimetable(value, key) if _TIMETABLES.get(key) is type(value) else None


def _registered_timetable(key: str) -> type[Any]:
    cls = _TIMETABLES.get(key)
    if cls is None:
        raise InvalidInputError(
            f"the schedule uses timetable {key!r}, which no plugin loaded in this process "
            "registers (is its plugin file in core.plugins_folder?)"
        )
    return cls


def _zone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(f"unknown time zone {timezone!r}") from exc
    return timezone


def parse_schedule(value: object, *, timezone: str = "UTC") -> Schedule:
    """Turn what a DAG file passes as ``schedule`` into a :class:`Schedule`."""
    if value is None:
        return NoSchedule()
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise InvalidInputError(f"schedule timedelta must be positive, got {value}")
        return DeltaSchedule(value)
    plugin_timetable = _plugin_timetable(value)
    if plugin_timetable is not None:
        return plugin_timetable
    if not isinstance(value, str):
        raise InvalidInputError(
            f"schedule must be a cron string, a preset, a timedelta, None or an instance "
            f"of a timetable a plugin registers, not {type(value).__name__}"
        )
    text = value.strip()
    if text in PRESETS:
        expression = PRESETS[text]
        if expression is None:
            return OnceSchedule()
        return CronSchedule(expression, _zone(timezone), preset=text)
    from croniter import croniter

    if not croniter.is_valid(text):
        raise InvalidInputError(
            f"invalid schedule {value!r}: expected a cron expression such as '0 6 * * *' "
            f"or one of {', '.join(PRESETS)}"
        )
    return CronSchedule(text, _zone(timezone))


def deserialize_schedule(data: dict[str, Any]) -> Schedule:
    """Inverse of ``Schedule.serialize()``."""
    kind = data["kind"]
    if kind == "none":
        return NoSchedule()
    if kind == "once":
        return OnceSchedule()
    if kind == "delta":
        return DeltaSchedule(timedelta(seconds=data["seconds"]))
    if kind == "cron":
        return CronSchedule(data["expression"], data["timezone"], data.get("preset"))
    if kind == "timetable":
        timetable = _registered_timetable(data["class"]).deserialize(data["data"])
        return PluginTimetable(timetable, data["class"])
    raise InvalidInputError(f"unknown schedule kind {kind!r}")
