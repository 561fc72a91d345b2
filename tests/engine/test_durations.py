"""parse_duration reads what people write; format_duration writes what it reads back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.durations import format_duration, human_duration, parse_duration
from engine.errors import InvalidInputError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90", timedelta(seconds=90)),
        ("2.5", timedelta(seconds=2.5)),
        ("0", timedelta(0)),
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1d2h", timedelta(days=1, hours=2)),
        ("2w", timedelta(weeks=2)),
        ("500ms", timedelta(milliseconds=500)),
        ("1s500ms", timedelta(seconds=1, milliseconds=500)),
        ("0.1s", timedelta(milliseconds=100)),
        (" 5M ", timedelta(minutes=5)),
        ("PT5M", timedelta(minutes=5)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("P1W", timedelta(weeks=1)),
        ("pt1h30m", timedelta(hours=1, minutes=30)),
        (90, timedelta(seconds=90)),
        (0.25, timedelta(milliseconds=250)),
    ],
)
def test_parse_duration_accepts_the_documented_forms(
    text: str | int | float, expected: timedelta
) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "-5",
        "-5s",
        "5x",
        "5mm",
        "30m1h",  # units largest first, so a typo is not silently summed
        "1h1h",
        "1e3",
        "P",
        "PT",
        "P1Y",  # years and months have no fixed length
        "P1M",
        "99999999999d",  # beyond what timedelta can hold
        -1,
        float("inf"),
        float("nan"),
        True,
    ],
)
def test_parse_duration_rejects_garbage_negative_and_empty(text: str | int | float) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_duration(text)
    assert str(caught.value) == (
        f"{text!r} is not a duration; use forms like 30s, 5m, 1h30m, 2d or PT5M"
    )


def test_parse_duration_error_quotes_the_input() -> None:
    with pytest.raises(InvalidInputError, match=r"^'abc' is not a duration; use forms like 30s"):
        parse_duration("abc")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(milliseconds=500), "500ms"),
        (timedelta(seconds=1, milliseconds=500), "1.5s"),
        (timedelta(minutes=2, seconds=3, milliseconds=250), "2m3.25s"),
        (timedelta(days=2), "2d"),
        (timedelta(days=1, hours=2, minutes=3, seconds=4), "1d2h3m4s"),
        (timedelta(seconds=1, microseconds=1), "1.000001s"),
        (timedelta(microseconds=1500), "0.0015s"),
    ],
)
def test_format_duration_writes_the_shortest_unit_form(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0ms"),
        (0.25, "250ms"),
        (0.9996, "1s"),
        (1.5, "1.5s"),
        (59.96, "1m"),
        (123, "2m 3s"),
        (3600, "1h"),
        (3725, "1h 2m"),
        (90_000, "1d 1h"),
    ],
)
def test_human_duration_rounds_to_what_people_read(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text
    assert abs(parse_duration(text).total_seconds() - seconds) <= max(0.05, seconds / 100)


@pytest.mark.parametrize(
    "value",
    [
        timedelta(0),
        timedelta(microseconds=1),
        timedelta(milliseconds=999),
        timedelta(seconds=59, microseconds=999_999),
        timedelta(hours=25, minutes=1),
        timedelta(days=365, seconds=1),
        timedelta.max,
    ],
)
def test_format_then_parse_round_trips(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize("text", ["90", "2.5", "1h30m", "1d2h", "500ms", "PT5M", "P1DT2H"])
def test_parse_then_format_round_trips(text: str) -> None:
    value = parse_duration(text)
    assert parse_duration(format_duration(value)) == value


def test_format_duration_refuses_a_negative_value() -> None:
    with pytest.raises(InvalidInputError, match="negative"):
        format_duration(timedelta(seconds=-1))
