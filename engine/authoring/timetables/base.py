"""What a timetable is: Airflow's ``Timetable`` interface and the records it speaks in.

A timetable answers two questions, with Airflow's signatures so that a custom timetable
written for Airflow ports by changing its imports:

* ``next_dagrun_info(last_automated_data_interval=, restriction=)``: the next scheduled
  run (its data interval, and ``run_after``, when it may be created), or None;
* ``infer_manual_data_interval(run_after=)``: the data interval of a manual run.

It must be serializable (``serialize()`` to JSON data, ``deserialize(data)`` back): the
scheduler and the webserver rebuild it from the database without importing DAG files.
Timetables ask :func:`utcnow` for the time, which the scheduler fixes per tick.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, NamedTuple

from engine.errors import InvalidInputError
from engine.scoped import scoped
from engine.timeutil import utcnow


@dataclass(frozen=True)
class DataInterval:
    """The span of data one run covers; ``start`` is the run's logical date."""

    start: datetime
    end: datetime

    @classmethod
    def exact(cls, at: datetime) -> DataInterval:
        """An interval of no length, at ``at`` (trigger-style runs)."""
        return cls(at, at)


class TimeRestriction(NamedTuple):
    """Bounds on automated runs: the DAG's ``start_date`` (``earliest``), ``end_date``
    (``latest``) and ``catchup``."""

    earliest: datetime | None
    latest: datetime | None
    catchup: bool


@dataclass(frozen=True)
class DagRunInfo:
    """One run a timetable wants: created once ``run_after`` has come."""

    run_after: datetime
    data_interval: DataInterval

    @classmethod
    def exact(cls, at: datetime) -> DagRunInfo:
        """A run for the moment ``at``, due at ``at``."""
        return cls(at, DataInterval.exact(at))

    @classmethod
    def interval(cls, start: datetime, end: datetime) -> DagRunInfo:
        """A run for ``[start, end)``, due when the interval ends."""
        return cls(end, DataInterval(start, end))

    @property
    def logical_date(self) -> datetime:
        return self.data_interval.start


class Timetable:
    """Base class of timetables, built-in and custom (register a custom one in a plugin's
    ``timetables``)."""

    description: str = ""
    """The schedule in words, shown on the DAG's page."""
    periodic: bool = True
    """Whether runs follow a regular cadence."""
    can_be_scheduled: bool = True
    """False for a timetable that never creates runs (``schedule=None``)."""
    active_runs_limit: ClassVar[int | None] = None
    """The most ``max_active_runs`` a DAG with this timetable may have (``@continuous``: 1)."""

    @property
    def summary(self) -> str:
        """A short name for lists (the DAG list's schedule column)."""
        return type(self).__name__

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        raise NotImplementedError(f"{type(self).__name__} must define next_dagrun_info")

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        raise NotImplementedError(f"{type(self).__name__} must define infer_manual_data_interval")

    def serialize(self) -> dict[str, Any]:
        return {}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls()

    def validate(self) -> None:
        """Raise if the timetable's arguments make no sense (called at parse time)."""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Timetable)
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self.serialize().items()))))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.summary})"


class DataIntervalTimetable(Timetable):
    """Runs that cover back-to-back intervals, each created when its interval ends (Airflow's
    ``_DataIntervalTimetable``): a subclass says where intervals may start and how long one is."""

    def earliest_start(self, restriction: TimeRestriction) -> datetime | None:
        """The first start the restriction allows (without catchup: the latest interval's)."""
        raise NotImplementedError(f"{type(self).__name__} must define earliest_start")

    def start_after(self, end: datetime) -> datetime:
        """The start of the interval that follows one ending at ``end``."""
        raise NotImplementedError(f"{type(self).__name__} must define start_after")

    def end_of(self, start: datetime) -> datetime:
        """The end of the interval that starts at ``start``."""
        raise NotImplementedError(f"{type(self).__name__} must define end_of")

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        earliest = self.earliest_start(restriction)
        if last_automated_data_interval is None:
            if earliest is None:
                return None
            start = earliest
        else:
            start = self.start_after(last_automated_data_interval.end)
            if earliest is not None:
                start = max(start, earliest)
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start, self.end_of(start))


class TriggerTimetable(Timetable):
    """A run at each moment the schedule names, its data interval the ``interval`` before
    it (Airflow's ``_TriggerTimetable``): a subclass says when the next run is."""

    _interval: timedelta
    """Set by the subclass from its ``interval`` argument (see :func:`trigger_interval`)."""

    def next_run_at(self, last_run: datetime | None, restriction: TimeRestriction) -> datetime:
        """When the run after ``last_run`` (the first one when None) is due."""
        raise NotImplementedError(f"{type(self).__name__} must define next_run_at")

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        last_run = last_automated_data_interval.end if last_automated_data_interval else None
        at = self.next_run_at(last_run, restriction)
        if restriction.latest is not None and at > restriction.latest:
            return None
        return DagRunInfo.interval(at - self._interval, at)

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        return DataInterval(run_after - self._interval, run_after)


def trigger_interval(interval: object) -> timedelta:
    """A trigger timetable's ``interval`` (the data interval before each run), checked."""
    if not isinstance(interval, timedelta) or interval < timedelta(0):
        raise InvalidInputError(f"interval must be a timedelta of 0 or more, not {interval!r}")
    return interval


_now: ContextVar[datetime | None] = ContextVar("timetable_now", default=None)


def planning_now() -> datetime:
    """The time timetables plan with: the scheduler tick's ``now`` inside :func:`frozen_now`,
    else the wall clock."""
    fixed = _now.get()
    return fixed if fixed is not None else utcnow()


def frozen_now(now: datetime) -> AbstractContextManager[None]:
    """Let every timetable consulted inside see ``now`` as the current time."""
    return scoped(_now, now)
