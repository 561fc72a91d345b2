"""Timetables to and from JSON: built-ins by ``kind``, plugins' by ``module.Class``.

Reading a serialized DAG (a trigger, the scheduler, the API) imports the module of its
own schedule's kind only: a DAG without a schedule never loads cron, ``dateutil`` or the
asset classes. :mod:`engine.authoring.schedules` holds the classes themselves and what
turns ``schedule=`` into one of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from engine.authoring.timetables.base import Timetable
from engine.errors import InvalidInputError

BUILT_IN_PLACES: Mapping[str, str] = {
    "none": "simple:NullTimetable",
    "once": "simple:OnceTimetable",
    "continuous": "simple:ContinuousTimetable",
    "events": "simple:EventsTimetable",
    "cron": "cron:CronDataIntervalTimetable",
    "cron_trigger": "cron:CronTriggerTimetable",
    "multiple_cron_trigger": "cron:MultipleCronTriggerTimetable",
    "delta": "delta:DeltaDataIntervalTimetable",
    "delta_trigger": "delta:DeltaTriggerTimetable",
    "asset": "assets:AssetTriggeredTimetable",
    "asset_or_time": "assets:AssetOrTimeSchedule",
}
"""Loom's timetables by the ``kind`` their serialized form records: ``module:Class`` in
:mod:`engine.authoring.timetables`, imported when a schedule of that kind is read."""

_TIMETABLES: dict[str, type[Any]] = {}
"""Timetable classes of the loaded plugins (see :mod:`engine.plugins`), by
:func:`timetable_key`."""


def built_in(kind: str) -> type[Timetable] | None:
    """The built-in timetable class of ``kind`` (its module imported now); None if unknown."""
    place = BUILT_IN_PLACES.get(kind)
    if place is None:
        return None
    module, _, name = place.partition(":")
    cls: type[Timetable] = getattr(
        importlib.import_module(f"engine.authoring.timetables.{module}"), name
    )
    return cls


def set_plugin_timetables(classes: Mapping[str, type[Any]]) -> None:
    """Make plugins' timetable classes usable as ``schedule=`` and readable when serialized."""
    _TIMETABLES.clear()
    _TIMETABLES.update(classes)


def plugin_timetables() -> Mapping[str, type[Any]]:
    """The loaded plugins' timetable classes, by :func:`timetable_key`."""
    return _TIMETABLES


def timetable_key(cls: type[Any]) -> str:
    """The name a serialized DAG records for a timetable class: ``module.Class``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _registered_timetable(key: str) -> type[Any]:
    cls = _TIMETABLES.get(key)
    if cls is None:
        raise InvalidInputError(
            f"the schedule uses timetable {key!r}, which no plugin loaded in this process "
            "registers (is its plugin file in core.plugins_folder?)"
        )
    return cls


def serialize_schedule(timetable: Timetable) -> dict[str, Any]:
    """The timetable by reference, with its own data."""
    kind = getattr(type(timetable), "kind", None)
    if kind is not None and built_in(kind) is type(timetable):
        return {"kind": kind, **timetable.serialize()}
    return {
        "kind": "timetable",
        "class": timetable_key(type(timetable)),
        "data": timetable.serialize(),
    }


def deserialize_schedule(data: dict[str, Any]) -> Timetable:
    """Inverse of :func:`serialize_schedule`."""
    kind = data["kind"]
    if kind == "timetable":
        timetable: Timetable = _registered_timetable(data["class"]).deserialize(data["data"])
        return timetable
    cls = built_in(kind)
    if cls is None:
        raise InvalidInputError(f"unknown schedule kind {kind!r}")
    return cls.deserialize({k: v for k, v in data.items() if k != "kind"})
