"""Schedules on assets: a run when the asset condition holds, and optionally on time too.

``schedule=asset``, ``schedule=[a, b]`` or ``schedule=a | b`` is an
:class:`AssetTriggeredTimetable`: it plans no run in time; the scheduler's asset step
(:mod:`engine.scheduling.assets`) creates one when queued events satisfy the condition.
:class:`AssetOrTimeSchedule` adds a time-based timetable whose runs are created as usual.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.authoring.assets import BaseAsset, as_condition, describe, deserialize_asset
from engine.authoring.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from engine.authoring.timetables.serialized import deserialize_schedule, serialize_schedule
from engine.authoring.timetables.simple import NeverScheduled
from engine.errors import InvalidInputError


class AssetTriggeredTimetable(NeverScheduled):
    """Runs when the asset condition holds; never on time."""

    kind = "asset"

    def __init__(self, condition: BaseAsset) -> None:
        self.asset_condition = condition
        self.description = f"Triggered by assets: {describe(condition)}"

    @property
    def summary(self) -> str:
        return "Asset"

    def serialize(self) -> dict[str, Any]:
        return {"condition": self.asset_condition.serialize()}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls(deserialize_asset(data["condition"]))


class AssetOrTimeSchedule(AssetTriggeredTimetable):
    """Runs on ``timetable`` and also whenever ``assets`` (a condition, or a list meaning
    all of them) is satisfied."""

    kind = "asset_or_time"

    def __init__(self, *, timetable: Timetable, assets: Any, **unknown: Any) -> None:
        if unknown:
            names = ", ".join(repr(name) for name in sorted(unknown))
            raise InvalidInputError(f"unknown argument(s) {names} to AssetOrTimeSchedule")
        if not isinstance(timetable, Timetable) or isinstance(timetable, AssetTriggeredTimetable):
            raise InvalidInputError(
                f"AssetOrTimeSchedule's timetable must be a time-based timetable, got {timetable!r}"
            )
        condition = as_condition(assets)
        if condition is None:
            raise InvalidInputError(
                f"AssetOrTimeSchedule's assets must be an asset, alias or condition, got {assets!r}"
            )
        super().__init__(condition)
        self.timetable = timetable
        self.periodic = timetable.periodic
        self.can_be_scheduled = timetable.can_be_scheduled
        self.description = (
            f"{timetable.description or timetable.summary}, "
            f"or when triggered by assets: {describe(condition)}"
        )

    @property
    def summary(self) -> str:
        return f"Asset or {self.timetable.summary}"

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        return self.timetable.next_dagrun_info(
            last_automated_data_interval=last_automated_data_interval, restriction=restriction
        )

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        return self.timetable.infer_manual_data_interval(run_after=run_after)

    def validate(self) -> None:
        self.timetable.validate()

    def serialize(self) -> dict[str, Any]:
        return {**super().serialize(), "timetable": serialize_schedule(self.timetable)}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls(
            timetable=deserialize_schedule(data["timetable"]),
            assets=deserialize_asset(data["condition"]),
        )


def asset_condition(timetable: Timetable) -> BaseAsset | None:
    """The asset condition of a DAG's schedule; None for a schedule only on time."""
    if isinstance(timetable, AssetTriggeredTimetable):
        return timetable.asset_condition
    return None
