"""DayOfWeekSensor: wait until it is one of the given days of the week."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.authoring.operators.sensors.base import BaseSensorOperator
from engine.authoring.weekday import WeekDay, week_day_numbers
from engine.timeutil import utcnow


class DayOfWeekSensor(BaseSensorOperator):
    """Done when today (UTC), or the run's logical date with ``use_task_logical_date=True``,
    is ``week_day``: a day name (``"Monday"``), a :class:`WeekDay`, or a set of them."""

    def __init__(
        self,
        task_id: str,
        *,
        week_day: str | WeekDay | Iterable[str | WeekDay],
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.week_day = week_day
        self.week_day_numbers = week_day_numbers(week_day, self.problems)
        self.use_task_logical_date = use_task_logical_date

    def poke(self, context: Mapping[str, Any]) -> bool:
        moment = context["logical_date"] if self.use_task_logical_date else utcnow()
        days = ", ".join(WeekDay(n).name.title() for n in sorted(self.week_day_numbers))
        print(f"waiting for {days}; it is {moment:%A}")
        return moment.isoweekday() in self.week_day_numbers

    def serialize_fields(self) -> dict[str, Any]:
        return {
            **super().serialize_fields(),
            "week_day": sorted(WeekDay(n).name for n in self.week_day_numbers),
            "use_task_logical_date": self.use_task_logical_date,
        }
