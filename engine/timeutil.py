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


def split_log_time(line: str) -> tuple[datetime | None, str]:
    """A log line's time (as :func:`log_time` wrote it at its start) and the rest of the
    line; ``(None, line)`` for a line that does not start with one (the rest of a cut
    line, a record's traceback)."""
    stamp, _, rest = line.partition(" ")
    day, _, rest = rest.partition(" ")
    head = f"{stamp} {day}"
    if len(head) != LOG_TIME_LENGTH or head[4] != "-" or head[19] != ",":
        return None, line
    try:
        moment = datetime.strptime(head, "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
    except ValueError:
        return None, line
    return moment, rest


LOG_TIME_LENGTH = len("2026-12-05 07:42:11,123")
