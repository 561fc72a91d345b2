"""Schedules: what a DAG file passes as ``schedule=``, as a timetable, and back from JSON.

Semantics follow Airflow 3: a cron string or preset is a :class:`CronTriggerTimetable` (a
run at each tick), or a :class:`CronDataIntervalTimetable` (a run per interval between
ticks, created once it has ended) when the process that imports DAG files has
``scheduler.create_cron_data_intervals`` set (:func:`cron_strings_as`); a ``timedelta`` a
:class:`DeltaDataIntervalTimetable`, ``"@once"``/``"@continuous"``/``None`` their own
timetables; a timetable instance (built-in, or a plugin's) is used as it is.

A serialized timetable names its class by reference: built-ins by ``kind``, a plugin's by
``module.Class`` with its own ``serialize()`` data. Reading it back imports no DAG file.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from engine.authoring.assets import as_condition
from engine.authoring.timetables.assets import AssetOrTimeSchedule, AssetTriggeredTimetable
from engine.authoring.timetables.base import (
    DagRunInfo,
    DataInterval,
    TimeRestriction,
    Timetable,
    frozen_now,
)
from engine.authoring.timetables.cron import (
    CRON_PRESETS,
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    MultipleCronTriggerTimetable,
    zone_name,
)
from engine.authoring.timetables.delta import DeltaDataIntervalTimetable, DeltaTriggerTimetable
from engine.authoring.timetables.serialized import deserialize_schedule as deserialize_schedule
from engine.authoring.timetables.serialized import plugin_timetables, timetable_key
from engine.authoring.timetables.serialized import serialize_schedule as serialize_schedule
from engine.authoring.timetables.serialized import set_plugin_timetables as set_plugin_timetables
from engine.authoring.timetables.simple import (
    ContinuousTimetable,
    EventsTimetable,
    NullTimetable,
    OnceTimetable,
)
from engine.errors import InvalidInputError
from engine.scoped import scoped

__all__ = ["DagRunInfo", "DataInterval", "Schedule", "TimeRestriction", "Timetable"]

Schedule = Timetable
"""What the scheduler asks of a DAG's schedule (the older name of :class:`Timetable`)."""

PRESETS: dict[str, str | None] = {"@once": None, "@continuous": None, **CRON_PRESETS}

_CRON_DATA_INTERVALS: ContextVar[bool] = ContextVar("create_cron_data_intervals", default=False)
"""``scheduler.create_cron_data_intervals`` of the DAG file being imported."""


def cron_strings_as(*, data_intervals: bool) -> AbstractContextManager[None]:
    """Let ``schedule="<cron>"`` in the DAG files imported inside become a
    :class:`CronDataIntervalTimetable` (True) or a :class:`CronTriggerTimetable` (False)."""
    return scoped(_CRON_DATA_INTERVALS, data_intervals)


BUILT_IN: dict[str, type[Timetable]] = {
    cls.kind: cls
    for cls in (
        NullTimetable,
        OnceTimetable,
        ContinuousTimetable,
        CronDataIntervalTimetable,
        CronTriggerTimetable,
        MultipleCronTriggerTimetable,
        DeltaDataIntervalTimetable,
        DeltaTriggerTimetable,
        EventsTimetable,
        AssetTriggeredTimetable,
        AssetOrTimeSchedule,
    )
}
"""Loom's timetables by the ``kind`` their serialized form records."""


def parse_schedule(value: object, *, timezone: str = "UTC") -> Timetable:
    """Turn what a DAG file passes as ``schedule`` into a :class:`Timetable`."""
    if value is None:
        return NullTimetable()
    condition = as_condition(value)
    if condition is not None:
        return AssetTriggeredTimetable(condition)
    if isinstance(value, timedelta | relativedelta):
        return DeltaDataIntervalTimetable(value)
    if isinstance(value, Timetable) and type(value) in BUILT_IN.values():
        value.validate()
        return value
    if type(value) in plugin_timetables().values() or isinstance(value, Timetable):
        return _plugin_timetable(value)
    if not isinstance(value, str):
        raise InvalidInputError(
            "schedule must be a cron string, a preset, a timedelta, a relativedelta, None, a "
            f"timetable or assets, not {type(value).__name__}"
        )
    text = value.strip()
    if text == "@once":
        return OnceTimetable()
    if text == "@continuous":
        return ContinuousTimetable()
    if text.startswith("@") and text not in PRESETS:
        raise InvalidInputError(f"invalid schedule {value!r}: presets are {', '.join(PRESETS)}")
    if _CRON_DATA_INTERVALS.get():
        return CronDataIntervalTimetable(text, zone_name(timezone))
    return CronTriggerTimetable(text, timezone=zone_name(timezone))


def _plugin_timetable(value: Any) -> Timetable:
    key = timetable_key(type(value))
    if plugin_timetables().get(key) is not type(value):
        raise InvalidInputError(
            f"schedule is a {key} timetable, which no loaded plugin registers: list its class "
            "in a plugin's timetables (core.plugins_folder)"
        )
    validate = getattr(value, "validate", None)
    if callable(validate):
        validate()
    return value  # type: ignore[no-any-return]


def restriction(start: datetime | None, end: datetime | None, catchup: bool) -> TimeRestriction:
    """A :class:`TimeRestriction` in pendulum's ``DateTime``, as Airflow's timetables get."""
    return TimeRestriction(_pendulum(start), _pendulum(end), catchup)


def _pendulum(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    import pendulum

    return pendulum.instance(moment)


def next_run(
    timetable: Timetable,
    *,
    last: DataInterval | None,
    restriction: TimeRestriction,
    now: datetime,
) -> DagRunInfo | None:
    """The timetable's next run after ``last``, planned as of ``now``."""
    if last is not None:
        start, end = _pendulum(last.start), _pendulum(last.end)
        assert start is not None
        assert end is not None
        last = DataInterval(start, end)
    with frozen_now(now):
        return timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )


def upcoming_runs(
    timetable: Timetable,
    *,
    last: DataInterval | None,
    restriction: TimeRestriction,
    now: datetime,
    count: int = 5,
) -> list[DagRunInfo]:
    """The next ``count`` runs the timetable would create, as of ``now`` (fewer when it
    ends, or when it plans only one at a time, as ``@continuous`` does)."""
    found: list[DagRunInfo] = []
    while len(found) < count:
        info = next_run(timetable, last=last, restriction=restriction, now=now)
        if info is None or (found and info.run_after <= found[-1].run_after):
            return found
        found.append(info)
        last = info.data_interval
        now = max(now, info.run_after)
    return found
