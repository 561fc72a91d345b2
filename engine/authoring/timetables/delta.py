"""Delta timetables: back-to-back intervals of a fixed length, or a run every so often.

The length is a ``timedelta`` or, as in Airflow, a ``dateutil`` ``relativedelta``
(``relativedelta(months=1)``: calendar months, which no ``timedelta`` can say).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

from dateutil.relativedelta import relativedelta, weekday

from engine.authoring.timetables.base import (
    DataInterval,
    DataIntervalTimetable,
    TimeRestriction,
    Timetable,
    TriggerTimetable,
    planning_now,
    trigger_interval,
)
from engine.authoring.timetables.describe import describe_delta
from engine.errors import InvalidInputError

Delta: TypeAlias = timedelta | relativedelta
"""What a delta timetable steps by."""

_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)
_RELATIVE = ("years", "months", "weeks", "days", "hours", "minutes", "seconds", "microseconds")
_ABSOLUTE = ("year", "month", "day", "hour", "minute", "second", "microsecond")


def _positive(delta: object) -> Delta:
    if isinstance(delta, relativedelta) and _REFERENCE + delta > _REFERENCE:
        return delta
    if not isinstance(delta, timedelta) or delta <= timedelta(0):
        raise InvalidInputError(f"schedule timedelta must be positive, got {delta}")
    return delta


def _serialize_delta(delta: Delta) -> dict[str, Any]:
    if isinstance(delta, timedelta):
        return {"seconds": delta.total_seconds()}
    fields = {name: getattr(delta, name) for name in (*_RELATIVE, *_ABSOLUTE)}
    if delta.weekday is not None:
        fields["weekday"] = [delta.weekday.weekday, delta.weekday.n]
    fields.pop("weeks")  # days already holds them
    return {"relativedelta": {k: v for k, v in fields.items() if v not in (0, None)}}


def _deserialize_delta(data: dict[str, Any]) -> Delta:
    if "relativedelta" not in data:
        return timedelta(seconds=data["seconds"])
    fields = dict(data["relativedelta"])
    if "weekday" in fields:
        fields["weekday"] = weekday(*fields["weekday"])
    return relativedelta(**fields)


class _DeltaTimetable(Timetable):
    """What both delta timetables are: a positive ``delta``, said in words."""

    def __init__(self, delta: Delta) -> None:
        self._delta = _positive(delta)
        self.description = describe_delta(self._delta)

    @property
    def summary(self) -> str:
        return str(self._delta) if isinstance(self._delta, timedelta) else repr(self._delta)


class DeltaDataIntervalTimetable(_DeltaTimetable, DataIntervalTimetable):
    """Intervals of ``delta`` from ``start_date``, each run created when its interval ends
    (``schedule=timedelta(...)``). Without catchup the next interval ends now (Airflow's
    rule: it is not aligned to the start date)."""

    kind = "delta"

    def earliest_start(self, restriction: TimeRestriction) -> datetime | None:
        earliest = restriction.earliest
        if restriction.catchup:
            return earliest
        latest_start = planning_now() - self._delta
        return latest_start if earliest is None else max(latest_start, earliest)

    def start_after(self, end: datetime) -> datetime:
        return end

    def end_of(self, start: datetime) -> datetime:
        return start + self._delta

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        return DataInterval(run_after - self._delta, run_after)

    def serialize(self) -> dict[str, Any]:
        return _serialize_delta(self._delta)

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> DeltaDataIntervalTimetable:
        return cls(_deserialize_delta(data))


class DeltaTriggerTimetable(_DeltaTimetable, TriggerTimetable):
    """A run every ``delta`` from ``start_date`` (at the start of each period), its data
    interval the ``interval`` before the run (none by default)."""

    kind = "delta_trigger"

    def __init__(self, delta: Delta, *, interval: timedelta = timedelta()) -> None:
        super().__init__(delta)
        self._interval = trigger_interval(interval)

    def next_run_at(self, last_run: datetime | None, restriction: TimeRestriction) -> datetime:
        earliest = restriction.earliest
        if restriction.catchup:
            return last_run + self._delta if last_run else earliest or planning_now()
        candidates = [self._latest_due(earliest, planning_now())]
        if last_run is not None:
            candidates.append(last_run + self._delta)
        if earliest is not None:
            candidates.append(earliest)
        return max(candidates)

    def _latest_due(self, earliest: datetime | None, now: datetime) -> datetime:
        """The latest run time at or before ``now`` on the grid from ``earliest``."""
        if earliest is None or now < earliest:
            return now
        if isinstance(self._delta, timedelta):
            periods = int((now - earliest).total_seconds() // self._delta.total_seconds())
            return earliest + periods * self._delta  # seconds: pendulum's // takes no timedelta
        # Calendar steps have no fixed length: estimate from the first, then correct.
        first = (earliest + self._delta - earliest).total_seconds()
        periods = int((now - earliest).total_seconds() // first)
        while periods > 0 and earliest + self._delta * periods > now:
            periods -= 1
        while earliest + self._delta * (periods + 1) <= now:
            periods += 1
        found: datetime = earliest + self._delta * periods
        return found

    def serialize(self) -> dict[str, Any]:
        return {**_serialize_delta(self._delta), "interval": self._interval.total_seconds()}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> DeltaTriggerTimetable:
        return cls(_deserialize_delta(data), interval=timedelta(seconds=data.get("interval", 0)))
