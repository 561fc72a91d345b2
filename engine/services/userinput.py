"""Values typed by users, checked once for every edge (API, UI, CLI) before they reach
the database or date arithmetic.

- JSON: parsed strictly (no ``NaN``/``Infinity``, which JSON does not have and PostgreSQL
  refuses), nested at most :data:`MAX_JSON_DEPTH` levels, with no NUL character in any
  string or key (PostgreSQL cannot store one in ``jsonb``).
- Dates: aware (naive means UTC), and between :data:`EARLIEST` and :data:`LATEST` in UTC,
  so converting to UTC and a schedule's arithmetic never overflow.
- Ids: the whole value matches its pattern (``re.fullmatch``; ``$`` would let ``"id\n"`` in).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from engine.errors import InvalidInputError
from engine.timeutil import ensure_aware

MAX_JSON_DEPTH = 64
"""Deepest nesting of objects and arrays accepted in a run's conf or a request body."""

EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)
"""The range of dates accepted from users: a day inside what Python can represent."""


def loads_json(text: str | bytes, *, field: str) -> Any:
    """Parse JSON text strictly; :class:`InvalidInputError` naming ``field`` otherwise."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise too_deep(field) from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{field} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{field} is not valid JSON: not UTF-8 text") from None
    except _ConstantError as exc:
        raise InvalidInputError(f"{field}: {exc}") from None
    check_json(value, field=field)
    return value


def check_json(value: Any, *, field: str) -> None:
    """Refuse a parsed JSON value nested too deeply, with a NUL character or a non-finite
    number. Iterative: a hostile depth cannot exhaust the stack."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list | tuple):
            if depth >= MAX_JSON_DEPTH:
                raise too_deep(field)
            if isinstance(item, dict):
                pending.extend((key, depth + 1) for key in item)
                pending.extend((inner, depth + 1) for inner in item.values())
            else:
                pending.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str) and "\x00" in item:
            raise InvalidInputError(f"{field}: contains a NUL character (\\u0000)")
        elif isinstance(item, float) and not math.isfinite(item):
            name = "NaN" if math.isnan(item) else ("Infinity" if item > 0 else "-Infinity")
            raise InvalidInputError(f"{field}: {name} is not valid JSON (no NaN or Infinity)")


DATE_OUT_OF_RANGE = (
    f"out of range: dates must lie between {EARLIEST.date()} and {LATEST.date()} (UTC)"
)


def checked_datetime(value: datetime, *, field: str) -> datetime:
    """``value`` made aware (naive means UTC, an offset is kept); :class:`InvalidInputError`
    naming ``field`` when it lies outside the accepted range."""
    aware = ensure_aware(value)
    if not date_in_range(aware):
        raise InvalidInputError(f"{field}: {DATE_OUT_OF_RANGE}")
    return aware


def date_in_range(value: datetime) -> bool:
    """Whether an aware ``value`` lies between :data:`EARLIEST` and :data:`LATEST`."""
    try:
        return EARLIEST <= value.astimezone(UTC) <= LATEST
    except OverflowError:
        return False


def check_id(value: str, pattern: re.Pattern[str], *, field: str, allowed: str) -> str:
    """``value`` when the whole of it matches ``pattern`` (never a prefix: ``"id\n"`` fails)."""
    if not pattern.fullmatch(value):
        raise InvalidInputError(f"{field}: {allowed}")
    return value


class _ConstantError(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _ConstantError(f"{name} is not valid JSON (JSON has no NaN or Infinity)")


def too_deep(field: str) -> InvalidInputError:
    """The error for a JSON value nested deeper than :data:`MAX_JSON_DEPTH`."""
    return InvalidInputError(f"{field}: nested too deeply (at most {MAX_JSON_DEPTH} levels)")
