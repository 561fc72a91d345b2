"""Durations as people write them ("90", "1h30m", "500ms", "PT5M") and back.

:func:`parse_duration` and :func:`format_duration` round-trip: formatting a parsed value
and parsing it again gives the same :class:`~datetime.timedelta`. Arithmetic goes
through :class:`~decimal.Decimal` microseconds so that "0.1s" is exactly 100 ms, not
whatever the nearest binary float happens to be.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from decimal import Decimal

from engine.errors import InvalidInputError

_NUMBER = r"\d+(?:\.\d+)?"
_MICROS_PER_UNIT = {
    "w": Decimal(7 * 86_400_000_000),
    "d": Decimal(86_400_000_000),
    "h": Decimal(3_600_000_000),
    "m": Decimal(60_000_000),
    "s": Decimal(1_000_000),
    "ms": Decimal(1_000),
}
# Longest unit first so that "ms" is not read as "m" followed by garbage.
_PART = re.compile(rf"\s*({_NUMBER})\s*(ms|w|d|h|m|s)")
_ORDER = ["w", "d", "h", "m", "s", "ms"]
_ISO = re.compile(
    rf"p(?:(?P<w>{_NUMBER})w)?(?:(?P<d>{_NUMBER})d)?"
    rf"(?:t(?:(?P<h>{_NUMBER})h)?(?:(?P<m>{_NUMBER})m)?(?:(?P<s>{_NUMBER})s)?)?"
)


def parse_duration(text: str | int | float) -> timedelta:
    """A non-negative duration from seconds (a number) or from a string.

    Strings may be a plain number of seconds ("90", "2.5"), units from largest to
    smallest ("90s", "5m", "1h30m", "1d2h", "500ms", "2w"), or ISO 8601 ("PT5M",
    "P1DT2H"). Anything else, a negative value or an empty string raises
    :class:`~engine.errors.InvalidInputError`.
    """
    micros = _micros(text)
    if micros is None or micros < 0:
        raise _not_a_duration(text)
    try:
        return timedelta(microseconds=int(micros.to_integral_value()))
    except OverflowError:
        raise _not_a_duration(text) from None


def format_duration(value: timedelta) -> str:
    """The shortest unit form of ``value``: "1h30m", "45s", "1.5s", "500ms", "0s".

    A fraction of a second shows as decimal seconds ("1.5s", "1.000001s"), or as
    milliseconds under a second ("500ms"), so that the result always parses back to
    ``value``.
    """
    if value < timedelta(0):
        raise InvalidInputError(f"{value} is negative; durations are never negative")
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((value.days, "d"), (hours, "h"), (minutes, "m")) if n]
    parts.append(_format_seconds(seconds, value.microseconds))
    return "".join(parts) or "0s"


def _format_seconds(seconds: int, micros: int) -> str:
    if not micros:
        return f"{seconds}s" if seconds else ""
    if seconds or micros % 1000:  # "1.5s"; finer than a millisecond: only a decimal is exact
        return f"{seconds}.{micros:06d}".rstrip("0") + "s"
    return f"{micros // 1000}ms"


def human_duration(seconds: float) -> str:
    """How long ``seconds`` took, for people (CLI tables, messages), rounded to what they
    read: "250ms", "1.5s", "2m 3s", "1h 5m", "2d 3h"."""
    if round(seconds * 1000) < 1000:
        return f"{round(seconds * 1000)}ms"
    if round(seconds, 1) < 60:
        return f"{round(seconds, 1):g}s"
    total = round(seconds)
    big, big_unit, small, small_unit, _ = next(step for step in _HUMAN_STEPS if total < step[4])
    whole, rest = divmod(total, big)
    return f"{whole}{big_unit} {rest // small}{small_unit}".removesuffix(f" 0{small_unit}")


_HUMAN_STEPS = [
    (60, "m", 1, "s", 3600),
    (3600, "h", 60, "m", 86400),
    (86400, "d", 3600, "h", math.inf),
]
"""(unit in seconds, its name, the next smaller unit, its name, below how many seconds)."""


def _micros(text: str | int | float) -> Decimal | None:
    """``text`` in microseconds, or None when it is not a duration at all."""
    if isinstance(text, bool):  # a bool is an int to Python, never a duration to a user
        return None
    if isinstance(text, int | float):
        # repr() gives the shortest text of a float, so 0.1 is exactly 100 ms
        return Decimal(repr(text)) * _MICROS_PER_UNIT["s"] if math.isfinite(text) else None
    if not isinstance(text, str):
        return None
    value = text.strip().lower()
    if re.fullmatch(_NUMBER, value):
        return Decimal(value) * _MICROS_PER_UNIT["s"]
    if value.startswith("p"):
        return _iso_micros(value)
    return _unit_micros(value)


def _unit_micros(value: str) -> Decimal | None:
    """Microseconds of "1h30m"-style text; each unit at most once, largest first."""
    total, pos, last = Decimal(0), 0, -1
    for match in _PART.finditer(value):
        rank = _ORDER.index(match.group(2))
        if match.start() != pos or rank <= last:
            return None
        total += Decimal(match.group(1)) * _MICROS_PER_UNIT[match.group(2)]
        pos, last = match.end(), rank
    return total if pos == len(value) and pos > 0 else None


def _iso_micros(value: str) -> Decimal | None:
    """Microseconds of an ISO 8601 duration without years or months (their length varies)."""
    match = _ISO.fullmatch(value)
    if match is None or value.endswith("t"):
        return None
    parts = {unit: number for unit, number in match.groupdict().items() if number is not None}
    if not parts:
        return None
    return sum((Decimal(n) * _MICROS_PER_UNIT[u] for u, n in parts.items()), Decimal(0))


def _not_a_duration(text: object) -> InvalidInputError:
    return InvalidInputError(
        f"{text!r} is not a duration; use forms like 30s, 5m, 1h30m, 2d or PT5M"
    )


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """How long from ``start`` to ``end`` in seconds, to the millisecond; None unless both
    are known. Never negative: clocks of two hosts may disagree by a little."""
    if start is None or end is None:
        return None
    return round(max((end - start).total_seconds(), 0.0), 3)
