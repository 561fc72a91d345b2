"""Time as Loom handles it: timezone-aware, in UTC.

A leaf module (standard library only) that every room imports, the authoring API too:
:func:`utcnow` is the clock that processes pass in by default, and :func:`ensure_aware`
is the one rule for a naive datetime (it means UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def ensure_aware(value: datetime) -> datetime:
    """A timezone-aware datetime: a naive one is taken to be UTC, an offset is kept."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def plain_utc(value: datetime) -> datetime:
    """``value`` as a plain ``datetime`` in UTC (a pendulum ``DateTime`` from a timetable
    becomes the standard type the database and JSON expect)."""
    utc = ensure_aware(value).astimezone(UTC)
    return datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, UTC
    )


def log_time(moment: datetime) -> str:
    """``moment`` as a task's log writes it at the start of a line: UTC, logging's
    ``asctime`` shape ``YYYY-MM-DD HH:MM:SS,mmm`` (milliseconds, no zone: a log is in UTC)."""
    u = ensure_aware(moment).astimezone(UTC)
    # Spelled out: strftime costs a few times more, and this runs for every printed line.
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d} {u.hour:02d}:{u.minute:02d}:{u.second:02d},"
        f"{u.microsecond // 1000:03d}"
    )
