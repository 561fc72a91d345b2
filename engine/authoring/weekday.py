"""``WeekDay``: the days of the week as ISO numbers (Monday is 1), Airflow's names."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class WeekDay(IntEnum):
    """A day of the week; ``WeekDay.get_weekday_number("Monday")`` is 1."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7

    @classmethod
    def get_weekday_number(cls, week_day_str: str) -> int:
        """The ISO number of a day's full name, in any case; ``ValueError`` otherwise."""
        name = week_day_str.upper() if isinstance(week_day_str, str) else week_day_str
        if name not in cls.__members__:
            raise ValueError(
                f"invalid week day {week_day_str!r}: use a full day name such as 'Monday'"
            )
        return cls[name].value

    @classmethod
    def convert(cls, day: str | WeekDay) -> int:
        """A day's number, from its name or a ``WeekDay``."""
        if isinstance(day, WeekDay):
            return day.value
        return cls.get_weekday_number(day)

    @classmethod
    def validate_week_day(cls, week_day: str | WeekDay | Iterable[str | WeekDay]) -> set[int]:
        """The numbers of ``week_day``: one day, or a set (or list) of days."""
        if isinstance(week_day, str | WeekDay):
            return {cls.convert(week_day)}
        if isinstance(week_day, Iterable):
            days = list(week_day)
            if days and all(isinstance(day, str | WeekDay) for day in days):
                return {cls.convert(day) for day in days}
        raise TypeError(
            f"week_day must be a day name, a WeekDay, or a set of them; got {week_day!r}"
        )


def week_day_numbers(
    week_day: str | WeekDay | Iterable[str | WeekDay], problems: list[str]
) -> frozenset[int]:
    """The ISO numbers of ``week_day`` (empty, with a problem, when it names no day)."""
    try:
        return frozenset(WeekDay.validate_week_day(week_day))
    except (TypeError, ValueError) as exc:
        problems.append(str(exc))
        return frozenset()
