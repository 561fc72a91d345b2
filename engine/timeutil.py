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
