"""Cron timetables: data intervals between ticks, runs at ticks, and several crons at once.

Ticks are computed in the timetable's time zone (so ``0 6 * * *`` in Europe/Berlin stays
at 06:00 local across daylight saving time) and returned in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.authoring.timetables.base import (
    DagRunInfo,
    DataInterval,
    DataIntervalTimetable,
    TimeRestriction,
    Timetable,
    TriggerTimetable,
    planning_now,
    trigger_interval,
)
from engine.authoring.timetables.describe import describe_cron
from engine.errors import InvalidInputError
from engine.timeutil import ensure_aware


def zone_name(timezone: object) -> str:
    """A time zone's IANA name, from a name, a ``ZoneInfo`` or a pendulum ``Timezone``."""
    name = getattr(timezone, "key", None) or getattr(timezone, "name", None) or timezone
    if not isinstance(name, str):
        raise InvalidInputError(f"unknown time zone {timezone!r}")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(f"unknown time zone {name!r}") from exc
    return name


CRON_PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
"""Airflow's cron presets and the expressions they stand for."""


class Cron:
    """One cron expression (or preset) in one time zone: its ticks around a moment."""

    def __init__(self, expression: str, timezone: object = "UTC") -> None:
        from croniter import croniter  # here: reading a serialized DAG needs no croniter

        written = expression.strip() if isinstance(expression, str) else expression
        expanded = CRON_PRESETS.get(written, written) if isinstance(written, str) else None
        if expanded is None or not croniter.is_valid(expanded):
            raise InvalidInputError(
                f"invalid schedule {expression!r}: expected a cron expression such as "
                "'0 6 * * *' or a preset such as '@daily'"
            )
        self.written: str = written
        """As the DAG wrote it (a preset stays a preset)."""
        self.expression: str = expanded
        self.timezone = zone_name(timezone)

    def _local(self, moment: datetime) -> datetime:
        return ensure_aware(moment).astimezone(ZoneInfo(self.timezone))

    def on_tick(self, moment: datetime) -> bool:
        from croniter import croniter

        exact = moment.second == 0 and moment.microsecond == 0
        return exact and bool(croniter.match(self.expression, self._local(moment)))

    def next(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment``."""
        from croniter import croniter

        found = croniter(self.expression, self._local(moment)).get_next(datetime)
        return ensure_aware(found).astimezone(UTC)

    def prev(self, moment: datetime) -> datetime:
        """The last tick strictly before ``moment``."""
        from croniter import croniter

        found = croniter(self.expression, self._local(moment)).get_prev(datetime)
        return ensure_aware(found).astimezone(UTC)

    def align_next(self, moment: datetime) -> datetime:
        return ensure_aware(moment) if self.on_tick(moment) else self.next(moment)

    def align_prev(self, moment: datetime) -> datetime:
        return ensure_aware(moment) if self.on_tick(moment) else self.prev(moment)

    @property
    def words(self) -> str:
        return f"{describe_cron(self.expression)} ({self.timezone})"


class CronDataIntervalTimetable(DataIntervalTimetable):
    """Runs cover the intervals between consecutive ticks; each is created when its interval
    ends (a cron string or preset under ``scheduler.create_cron_data_intervals``, as in
    Airflow 2). Without catchup only the latest complete interval runs."""

    kind = "cron"

    def __init__(self, cron: str, timezone: object = "UTC", *, preset: str | None = None):
        self._cron = Cron(cron, timezone)
        written = self._cron.written
        self.preset = preset or (written if written in CRON_PRESETS else None)
        self.description = self._cron.words

    @property
    def summary(self) -> str:
        return self.preset or self._cron.written

    def earliest_start(self, restriction: TimeRestriction) -> datetime | None:
        earliest = restriction.earliest
        if not restriction.catchup:
            return self._skip_to_latest(earliest)
        return None if earliest is None else self._cron.align_next(earliest)

    def start_after(self, end: datetime) -> datetime:
        return self._cron.align_prev(end)

    def end_of(self, start: datetime) -> datetime:
        return self._cron.next(start)

    def _skip_to_latest(self, earliest: datetime | None) -> datetime:
        """The start of the latest interval that has ended by now (not before ``earliest``)."""
        latest_end = self._cron.align_prev(planning_now())
        start = self._cron.prev(latest_end)
        return start if earliest is None else max(start, self._cron.align_next(earliest))

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        end = self._cron.align_prev(run_after)
        return DataInterval(self._cron.prev(end), end)

    def serialize(self) -> dict[str, Any]:
        return {
            "expression": self._cron.expression,
            "timezone": self._cron.timezone,
            "preset": self.preset,
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> CronDataIntervalTimetable:
        return cls(data["expression"], data["timezone"], preset=data.get("preset"))


def _seconds(value: timedelta) -> float:
    return value.total_seconds()


def _run_immediately(value: object) -> bool | timedelta:
    if isinstance(value, bool | timedelta):
        return value
    raise InvalidInputError(f"run_immediately must be True, False or a timedelta, not {value!r}")


def _dump_run_immediately(value: bool | timedelta) -> bool | float:
    return value if isinstance(value, bool) else _seconds(value)


def _load_run_immediately(data: dict[str, Any]) -> bool | timedelta:
    stored = data.get("run_immediately", True)
    return stored if isinstance(stored, bool) else timedelta(seconds=stored)


class CronTriggerTimetable(TriggerTimetable):
    """A run at each tick (as POSIX cron does), its data interval the ``interval`` before the
    tick (none by default); Airflow 3's timetable for a cron string or preset.

    ``run_immediately`` decides the first run without catchup (the DAG's first, or its
    first after being unpaused): True runs the tick that just passed, False waits for the
    next, a timedelta runs the passed tick only if it is at most that old. Loom applies it
    whether or not the DAG has a ``start_date`` (which stays a lower bound), as Airflow's
    PR #64162 does; see docs/decisions.md."""

    kind = "cron_trigger"

    def __init__(
        self,
        cron: str,
        *,
        timezone: object = "UTC",
        interval: timedelta = timedelta(),
        run_immediately: bool | timedelta = True,
    ) -> None:
        self._cron = Cron(cron, timezone)
        self._interval = trigger_interval(interval)
        self._run_immediately = _run_immediately(run_immediately)
        self.description = self._cron.words

    @property
    def summary(self) -> str:
        return self._cron.written

    def next_run_at(self, last_run: datetime | None, restriction: TimeRestriction) -> datetime:
        earliest = restriction.earliest
        if restriction.catchup:
            if last_run is not None:
                return self._cron.next(last_run)
            return self._first_run() if earliest is None else self._cron.align_next(earliest)
        if last_run is None:
            at = self._first_run()
        else:  # the tick after the last run, or the latest tick when some were missed
            at = max(self._cron.next(last_run), self._cron.align_prev(planning_now()))
        return at if earliest is None else max(at, self._cron.align_next(earliest))

    def _first_run(self) -> datetime:
        """The first tick to run without catchup, as ``run_immediately`` says."""
        now = planning_now()
        past, upcoming = self._cron.align_prev(now), self._cron.align_next(now)
        if self._run_immediately is True:
            return past
        if self._run_immediately is False:
            return upcoming
        return past if now - past <= self._run_immediately else upcoming

    def serialize(self) -> dict[str, Any]:
        return {
            "expression": self._cron.written,
            "timezone": self._cron.timezone,
            "interval": _seconds(self._interval),
            "run_immediately": _dump_run_immediately(self._run_immediately),
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> CronTriggerTimetable:
        return cls(
            data["expression"],
            timezone=data["timezone"],
            interval=timedelta(seconds=data.get("interval", 0)),
            run_immediately=_load_run_immediately(data),
        )


class MultipleCronTriggerTimetable(Timetable):
    """Runs at the ticks of several cron expressions (one run when two tick together)."""

    kind = "multiple_cron_trigger"

    def __init__(
        self,
        *crons: str,
        timezone: object = "UTC",
        interval: timedelta = timedelta(),
        run_immediately: bool | timedelta = True,
    ) -> None:
        if not crons:
            raise InvalidInputError("MultipleCronTriggerTimetable needs at least one cron")
        self._timetables = [
            CronTriggerTimetable(
                cron, timezone=timezone, interval=interval, run_immediately=run_immediately
            )
            for cron in crons
        ]
        self.description = "; ".join(t.description for t in self._timetables)

    @property
    def summary(self) -> str:
        return ", ".join(t.summary for t in self._timetables)

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        infos = [
            info
            for t in self._timetables
            if (
                info := t.next_dagrun_info(
                    last_automated_data_interval=last_automated_data_interval,
                    restriction=restriction,
                )
            )
            is not None
        ]
        if not infos:
            return None
        if restriction.catchup:
            return min(infos, key=lambda i: i.run_after)
        now = planning_now()
        past = [i for i in infos if i.run_after <= now]
        # Without catchup: the latest tick that has come, else the soonest to come.
        return (
            max(past, key=lambda i: i.run_after) if past else min(infos, key=lambda i: i.run_after)
        )

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        return self._timetables[0].infer_manual_data_interval(run_after=run_after)

    def serialize(self) -> dict[str, Any]:
        first = self._timetables[0].serialize()
        return {
            "expressions": [t.serialize()["expression"] for t in self._timetables],
            "timezone": first["timezone"],
            "interval": first["interval"],
            "run_immediately": first["run_immediately"],
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> MultipleCronTriggerTimetable:
        return cls(
            *data["expressions"],
            timezone=data["timezone"],
            interval=timedelta(seconds=data.get("interval", 0)),
            run_immediately=_load_run_immediately(data),
        )
