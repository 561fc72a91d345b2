"""TimeDeltaSensor, TimeSensor and DateTimeSensor: wait until a moment has passed
(``deferrable=True``: on a :class:`DateTimeTrigger`, in a triggerer)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any, ClassVar

import pendulum

from engine.authoring.operators.sensors.base import BaseSensorOperator
from engine.authoring.triggers.temporal import DateTimeTrigger
from engine.timeutil import utcnow


class _MomentSensor(BaseSensorOperator):
    """A sensor done once a moment has passed; deferrable on a :class:`DateTimeTrigger`."""

    can_defer: ClassVar[bool] = True
    defer_with_timeout: ClassVar[bool] = False

    def target(self, context: Mapping[str, Any]) -> datetime:
        """The moment waited for."""
        raise NotImplementedError

    def poke(self, context: Mapping[str, Any]) -> bool:
        target = self.target(context)
        print(f"waiting until {target.isoformat()}")
        return bool(utcnow() > target)

    def trigger_for(self, context: Mapping[str, Any]) -> DateTimeTrigger:
        return DateTimeTrigger(self.target(context))


class TimeDeltaSensor(_MomentSensor):
    """Done once ``delta`` has passed after the run's data interval end (its logical date
    when it has no data interval)."""

    def __init__(self, task_id: str, *, delta: timedelta, **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        if not isinstance(delta, timedelta):
            self.problems.append(f"delta must be a timedelta, got {delta!r}")
        self.delta = delta

    def target(self, context: Mapping[str, Any]) -> datetime:
        base: datetime = context.get("data_interval_end") or context["logical_date"]
        return base + self.delta

    def serialize_fields(self) -> dict[str, Any]:
        return {**super().serialize_fields(), "delta": self.delta.total_seconds()}


class TimeSensor(_MomentSensor):
    """Done once the wall clock has passed ``target_time`` today, in the DAG's timezone."""

    def __init__(self, task_id: str, *, target_time: time, **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        if not isinstance(target_time, time):
            self.problems.append(f"target_time must be a datetime.time, got {target_time!r}")
        self.target_time = target_time

    def target(self, context: Mapping[str, Any]) -> datetime:
        zone = pendulum.timezone(self.dag.timezone if self.dag is not None else "UTC")
        today = pendulum.now(zone).date()
        return datetime.combine(today, self.target_time).replace(tzinfo=zone)

    def serialize_fields(self) -> dict[str, Any]:
        return {**super().serialize_fields(), "target_time": self.target_time.isoformat()}


class DateTimeSensor(_MomentSensor):
    """Done once ``target_time`` (a datetime, or a templated string such as
    ``"{{ data_interval_end + macros.timedelta(hours=1) }}"``) has passed; a naive time is UTC."""

    template_fields: ClassVar[tuple[str, ...]] = ("target_time",)

    def __init__(self, task_id: str, *, target_time: str | datetime, **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        if isinstance(target_time, datetime):
            target_time = target_time.isoformat()
        elif not isinstance(target_time, str):
            self.problems.append(
                f"target_time must be a str or a datetime, got {type(target_time).__name__}"
            )
        self.target_time = target_time

    def target(self, context: Mapping[str, Any]) -> datetime:
        target = pendulum.parse(str(self.target_time), tz="UTC")
        if not isinstance(target, datetime):
            raise ValueError(f"target_time {self.target_time!r} is not a date and time")
        return target


class TimeDeltaSensorAsync(TimeDeltaSensor):
    """Airflow's older name for ``TimeDeltaSensor(deferrable=True)``: it always defers."""

    def __init__(self, task_id: str, *, delta: timedelta, **kwargs: Any) -> None:
        super().__init__(task_id, delta=delta, **{**kwargs, "deferrable": True})


class TimeSensorAsync(TimeSensor):
    """Airflow's older name for ``TimeSensor(deferrable=True)``: it always defers."""

    def __init__(self, task_id: str, *, target_time: time, **kwargs: Any) -> None:
        super().__init__(task_id, target_time=target_time, **{**kwargs, "deferrable": True})
