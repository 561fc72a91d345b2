"""Delta timetables: back-to-back intervals of a fixed length, or a run every so often."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from engine.authoring.timetables.base import (
    DagRunInfo,
    DataInterval,
    TimeRestriction,
    Timetable,
    utcnow,
)
from engine.authoring.timetables.describe import describe_delta
from engine.errors import InvalidInputError


def _positive(delta: object) -> timedelta:
    if not isinstance(delta, timedelta) or delta <= timedelta(0):
        raise InvalidInputError(f"schedule timedelta must be positive, got {delta}")
    return delta


class DeltaDataIntervalTimetable(Timetable):
    """Intervals of ``delta`` from ``start_date``, each run created when its interval ends
    (``schedule=timedelta(...)``). Without catchup the next interval ends now (Airflow's
    rule: it is not aligned to the start date)."""

    kind = "delta"

    def __init__(self, delta: timedelta) -> None:
        self._delta = _positive(delta)
        self.description = describe_delta(self._delta)

    @property
    def summary(self) -> str:
        return str(self._delta)

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        earliest = restriction.earliest
        if not restriction.catchup:
            latest_start = utcnow() - self._delta
            earliest = latest_start if earliest is None else max(latest_start, earliest)
        if last_automated_data_interval is None:
            if earliest is None:
                return None
            start = earliest
        else:
            start = last_automated_data_interval.end
            if earliest is not None:
                start = max(start, earliest)
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start, start + self._delta)

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        return DataInterval(run_after - self._delta, run_after)

    def serialize(self) -> dict[str, Any]:
        return {"seconds": self._delta.total_seconds()}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> DeltaDataIntervalTimetable:
        return cls(timedelta(seconds=data["seconds"]))


class DeltaTriggerTimetable(Timetable):
    """A run every ``delta`` from ``start_date`` (at the start of each period), its data
    interval the ``interval`` before the run (none by default)."""

    kind = "delta_trigger"

    def __init__(self, delta: timedelta, *, interval: timedelta = timedelta()) -> None:
        self._delta = _positive(delta)
        if not isinstance(interval, timedelta) or interval < timedelta(0):
            raise InvalidInputError(f"interval must be a timedelta of 0 or more, not {interval!r}")
        self._interval = interval
        self.description = describe_delta(self._delta)

    @property
    def summary(self) -> str:
        return str(self._delta)

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        last_end = last_automated_data_interval.end if last_automated_data_interval else None
        earliest = restriction.earliest
        if restriction.catchup:
            at = last_end + self._delta if last_end else earliest or utcnow()
        else:
            now = utcnow()
            candidates = [self._latest_due(earliest, now)]
            if last_end is not None:
                candidates.append(last_end + self._delta)
            if earliest is not None:
                candidates.append(earliest)
            at = max(candidates)
        if restriction.latest is not None and at > restriction.latest:
            return None
        return DagRunInfo.interval(at - self._interval, at)

    def _latest_due(self, earliest: datetime | None, now: datetime) -> datetime:
        """The latest run time at or before ``now`` on the grid from ``earliest``."""
        if earliest is None or now < earliest:
            return now
        periods = int((now - earliest).total_seconds() // self._delta.total_seconds())
        return earliest + periods * self._delta  # seconds: pendulum's // takes no timedelta

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        return DataInterval(run_after - self._interval, run_after)

    def serialize(self) -> dict[str, Any]:
        return {"seconds": self._delta.total_seconds(), "interval": self._interval.total_seconds()}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> DeltaTriggerTimetable:
        return cls(
            timedelta(seconds=data["seconds"]),
            interval=timedelta(seconds=data.get("interval", 0)),
        )
