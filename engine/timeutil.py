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
    utc = ensure_aware(moment).astimezone(UTC)
    return f"{utc:%Y-%m-%d %H:%M:%S},{utc.microsecond // 1000:03d}"
