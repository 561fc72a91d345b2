"""Schedules in words: a cron expression or a timedelta as a person would say it.

A small describer of our own (no dependency): minute, hour, day of month, month and day of
week, each read as ``*``, a number, a list, a range or a step. What it cannot phrase it
shows as the field itself, so a description is never wrong, only sometimes plain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("", "January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
_DAY_NAMES = {name[:3].lower(): str(i) for i, name in enumerate(DAYS[:7])}
_MONTH_NAMES = {name[:3].lower(): str(i) for i, name in enumerate(MONTHS) if name}


def describe_cron(expression: str) -> str:
    """``30 6 * * 1-5`` → ``At 06:30, Monday through Friday``."""
    fields = expression.split()
    if len(fields) != 5:
        return f"Cron {expression}"
    minute, hour, dom, month, dow = fields
    parts = [_time(minute, hour)]
    parts += [p for p in (_dom(dom), _month(month.lower()), _dow(dow.lower())) if p]
    return ", ".join(parts)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _time(minute: str, hour: str) -> str:
    if minute.isdigit() and all(h.isdigit() for h in hour.split(",")):
        return "At " + _and([f"{int(h):02d}:{int(minute):02d}" for h in hour.split(",")])
    if all(m.isdigit() for m in minute.split(",")) and hour.isdigit():
        return "At " + _and([f"{int(hour):02d}:{int(m):02d}" for m in minute.split(",")])
    if minute == "*" and hour == "*":
        return "Every minute"
    if minute.startswith("*/") and hour == "*":
        return f"Every {minute[2:]} minutes"
    if minute == "*":
        return f"Every minute, {_hours(hour)}"
    head = "On the hour" if minute == "0" else f"At minute {_list(minute, str)}"
    return f"{head}, {_hours(hour)}"


def _hours(hour: str) -> str:
    return _stepped(hour, "hours", lambda h: f"between {_list(h, _o_clock)}") or "every hour"


def _o_clock(hour: str) -> str:
    return f"{int(hour):02d}:00"


def _dom(dom: str) -> str:
    return _stepped(dom, "days", lambda d: f"on day {_list(d, str)} of the month")


def _month(month: str) -> str:
    return _stepped(
        month, "months", lambda m: "in " + _list(m, lambda v: MONTHS[int(v)], _MONTH_NAMES)
    )


def _stepped(field: str, unit: str, listed: Callable[[str], str]) -> str:
    """Nothing for ``*``, ``every n <unit>`` for ``*/n``, else the field's values listed."""
    if field == "*":
        return ""
    if field.startswith("*/"):
        return f"every {field[2:]} {unit}"
    return listed(field)


def _dow(dow: str) -> str:
    if dow in ("*", "?"):
        return ""
    named = _list(dow, lambda d: DAYS[int(d)], _DAY_NAMES)
    return named if "-" in dow else f"on {named}"


def _list(field: str, name: Callable[[str], object], aliases: dict[str, str] | None = None) -> str:
    """``1-5`` → ``Monday through Friday``; ``1,3`` → ``Monday and Wednesday``."""
    aliases = aliases or {}

    def one(value: str) -> str:
        value = aliases.get(value, value)
        return str(name(value)) if value.isdigit() else value

    items = []
    for part in field.split(","):
        if "-" in part and "/" not in part:
            low, high = part.split("-", 1)
            items.append(f"{one(low)} through {one(high)}")
        else:
            items.append(one(part))
    return _and(items)


def describe_delta(delta: Any) -> str:
    """``timedelta(hours=2)`` → ``Every 2 hours``; ``relativedelta(months=1)`` → ``Every 1
    month``; what it cannot phrase it shows as written."""
    if isinstance(delta, timedelta):
        seconds = int(delta.total_seconds())
        parts = []
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
            count, seconds = divmod(seconds, size)
            if count:
                parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
        return "Every " + _and(parts or [str(delta)])
    units = ("years", "months", "days", "hours", "minutes", "seconds")
    absolute = ("year", "month", "day", "weekday", "hour", "minute", "second", "microsecond")
    if delta.microseconds or delta.leapdays or any(getattr(delta, a) is not None for a in absolute):
        return f"Every {delta!r}"
    counts = [(getattr(delta, unit), unit.rstrip("s")) for unit in units if getattr(delta, unit)]
    return "Every " + _and([f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in counts])
