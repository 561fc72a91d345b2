"""Timetables without a cadence: never, once, continuously, and at listed events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from engine.authoring.timetables.base import (
    DagRunInfo,
    DataInterval,
    TimeRestriction,
    Timetable,
    planning_now,
)
from engine.errors import InvalidInputError
from engine.timeutil import ensure_aware


class _Trivial(Timetable):
    periodic = False

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        return DataInterval.exact(run_after)


class NeverScheduled(_Trivial):
    """Plans no run in time: runs come only from outside (a trigger, the API, assets)."""

    can_be_scheduled = False

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        return None


class NullTimetable(NeverScheduled):
    """``schedule=None``: manual (and API) triggers only."""

    kind = "none"
    description = "Never, external triggers only"

    @property
    def summary(self) -> str:
        return "None"


class OnceTimetable(_Trivial):
    """``@once``: a single run at ``start_date`` (or at once without one), catchup or not."""

    kind = "once"
    description = "Once, as soon as possible"

    @property
    def summary(self) -> str:
        return "@once"

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            return None
        at = restriction.earliest or planning_now()
        if restriction.latest is not None and at > restriction.latest:
            return None
        return DagRunInfo.exact(at)


class ContinuousTimetable(_Trivial):
    """``@continuous``: a new run as soon as the previous one ends, one at a time; each run's
    data interval goes from the previous run's end to its own creation."""

    kind = "continuous"
    description = "As often as possible, one run at a time"
    active_runs_limit: ClassVar[int | None] = 1

    @property
    def summary(self) -> str:
        return "@continuous"

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        now = planning_now()
        start_date = restriction.earliest or now
        last = last_automated_data_interval
        if last is None:
            start, end = start_date, max(start_date, now)
        elif last.end > now:  # the start date moved into the future
            start, end = start_date, start_date + (last.end - last.start)
        else:
            start, end = last.end, now
        if restriction.latest is not None and end > restriction.latest:
            return None
        return DagRunInfo.interval(start, end)


class EventsTimetable(Timetable):
    """Runs at listed moments (irregular but known dates, such as match days). Manual runs
    cover the moment they are triggered for, or with ``restrict_to_events`` the latest
    event before it."""

    kind = "events"
    periodic = False

    def __init__(
        self,
        event_dates: Iterable[datetime],
        restrict_to_events: bool = False,
        presorted: bool = False,
        description: str | None = None,
    ) -> None:
        given = list(event_dates)
        if not all(isinstance(d, datetime) for d in given):
            raise InvalidInputError("EventsTimetable's event_dates must be datetimes")
        dates = [ensure_aware(d) for d in given]
        self.event_dates = dates if presorted else sorted(set(dates))
        self.restrict_to_events = bool(restrict_to_events)
        self._given_description = description
        self.description = description or self._default_description()

    def _default_description(self) -> str:
        if not self.event_dates:
            return "No events"
        first, last = self.event_dates[0], self.event_dates[-1]
        return f"{len(self.event_dates)} events between {first.isoformat()} and {last.isoformat()}"

    @property
    def summary(self) -> str:
        return self._given_description or f"{len(self.event_dates)} events"

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        earliest = restriction.earliest
        if not restriction.catchup:
            # Loom plans afresh at each tick, so "skip what was missed" keeps the latest
            # event that has come (Airflow, planning once, starts from now).
            passed = [event for event in self.event_dates if event <= planning_now()]
            if passed and (earliest is None or passed[-1] > earliest):
                earliest = passed[-1]
        last_end = last_automated_data_interval.end if last_automated_data_interval else None
        for event in self.event_dates:
            if (earliest is None or event >= earliest) and (last_end is None or event > last_end):
                if restriction.latest is not None and event > restriction.latest:
                    return None
                return DagRunInfo.exact(event)
        return None

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        if not self.restrict_to_events or not self.event_dates:
            return DataInterval.exact(run_after)
        past = [event for event in self.event_dates if event <= run_after]
        return DataInterval.exact(past[-1] if past else self.event_dates[0])

    def serialize(self) -> dict[str, Any]:
        return {
            "event_dates": [d.isoformat() for d in self.event_dates],
            "restrict_to_events": self.restrict_to_events,
            "description": self._given_description,
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> EventsTimetable:
        return cls(
            [datetime.fromisoformat(d) for d in data["event_dates"]],
            restrict_to_events=data["restrict_to_events"],
            presorted=True,
            description=data.get("description"),
        )
