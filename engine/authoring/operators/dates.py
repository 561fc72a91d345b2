"""BranchDateTimeOperator and BranchDayOfWeekOperator: branch on the date or time now
(or on the run's logical date)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.authoring.operators.branch import BaseBranchOperator
from engine.authoring.weekday import WeekDay, week_day_numbers
from engine.timeutil import utcnow

TaskIds = str | Iterable[str]


def _ids(value: TaskIds) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class _TwoWayBranch(BaseBranchOperator):
    """Follows ``follow_task_ids_if_true`` when :meth:`holds`, else the other list."""

    def __init__(
        self,
        task_id: str,
        *,
        follow_task_ids_if_true: TaskIds,
        follow_task_ids_if_false: TaskIds,
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.follow_task_ids_if_true = _ids(follow_task_ids_if_true)
        self.follow_task_ids_if_false = _ids(follow_task_ids_if_false)
        self.use_task_logical_date = use_task_logical_date

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.dag.timezone if self.dag is not None else "UTC")

    def _now(self, context: Mapping[str, Any]) -> datetime:
        """The run's logical date or the time now, in the DAG's time zone (so that a day
        or a time of day means the DAG's, see docs/decisions.md)."""
        moment: datetime = context["logical_date"] if self.use_task_logical_date else utcnow()
        return moment.astimezone(self._zone())

    def holds(self, now: datetime) -> bool:
        raise NotImplementedError

    def choose_branch(self, context: Mapping[str, Any]) -> list[str]:
        if self.holds(self._now(context)):
            return self.follow_task_ids_if_true
        return self.follow_task_ids_if_false

    def serialize_fields(self) -> dict[str, Any]:
        return {
            "follow_task_ids_if_true": self.follow_task_ids_if_true,
            "follow_task_ids_if_false": self.follow_task_ids_if_false,
            "use_task_logical_date": self.use_task_logical_date,
        }


class BranchDateTimeOperator(_TwoWayBranch):
    """True when ``target_lower <= now <= target_upper`` (either bound may be ``None``).

    A ``datetime.time`` bound is on the date of ``now``; an upper time before the lower
    one is on the next day (a window across midnight). Naive bounds are in the DAG's
    time zone, as in Airflow.
    """

    def __init__(
        self,
        task_id: str,
        *,
        follow_task_ids_if_true: TaskIds,
        follow_task_ids_if_false: TaskIds,
        target_lower: datetime | time | None,
        target_upper: datetime | time | None,
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task_id,
            follow_task_ids_if_true=follow_task_ids_if_true,
            follow_task_ids_if_false=follow_task_ids_if_false,
            use_task_logical_date=use_task_logical_date,
            **kwargs,
        )
        if target_lower is None and target_upper is None:
            self.problems.append(
                "target_lower and target_upper are both None: at least one must be given"
            )
        for name, bound in (("target_lower", target_lower), ("target_upper", target_upper)):
            if bound is not None and not isinstance(bound, datetime | time):
                self.problems.append(f"{name} must be a datetime, a time or None, not {bound!r}")
        self.target_lower = target_lower
        self.target_upper = target_upper

    def holds(self, now: datetime) -> bool:
        lower, upper = self._bounds(now.date())
        if upper is not None and upper < now:
            return False
        return lower is None or lower <= now

    def _bounds(self, day: date) -> tuple[datetime | None, datetime | None]:
        lower = self._on(day, self.target_lower)
        upper = self._on(day, self.target_upper)
        if lower is not None and upper is not None and upper < lower:
            upper += timedelta(days=1)
        return lower, upper

    def _on(self, day: date, bound: datetime | time | None) -> datetime | None:
        if bound is None:
            return None
        moment = bound if isinstance(bound, datetime) else datetime.combine(day, bound)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self._zone())

    def serialize_fields(self) -> dict[str, Any]:
        return {
            **super().serialize_fields(),
            "target_lower": self.target_lower,
            "target_upper": self.target_upper,
        }


class BranchDayOfWeekOperator(_TwoWayBranch):
    """True when today (or the logical date) is ``week_day``: a day name (``"Monday"``),
    a :class:`WeekDay`, or a set of them."""

    def __init__(
        self,
        task_id: str,
        *,
        follow_task_ids_if_true: TaskIds,
        follow_task_ids_if_false: TaskIds,
        week_day: str | WeekDay | Iterable[str | WeekDay],
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task_id,
            follow_task_ids_if_true=follow_task_ids_if_true,
            follow_task_ids_if_false=follow_task_ids_if_false,
            use_task_logical_date=use_task_logical_date,
            **kwargs,
        )
        self.week_day = week_day
        self.week_day_numbers = week_day_numbers(week_day, self.problems)

    def holds(self, now: datetime) -> bool:
        return now.isoweekday() in self.week_day_numbers

    def serialize_fields(self) -> dict[str, Any]:
        days = sorted(WeekDay(n).name for n in self.week_day_numbers)
        return {**super().serialize_fields(), "week_day": days}
