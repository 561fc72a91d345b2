"""Values from users: strict JSON, bounded nesting, no NUL or NaN, dates in range, whole ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from engine.errors import InvalidInputError
from engine.services.userinput import (
    MAX_JSON_DEPTH,
    check_id,
    check_json,
    checked_datetime,
    loads_json,
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[" * 100_000 + "]" * 100_000, "conf: nested too deeply"),
        ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "conf: nested too deeply"),
        ('{"a": NaN}', "conf: NaN is not valid JSON"),
        ('{"a": -Infinity}', "conf: -Infinity is not valid JSON"),
        ('{"a": "x\\u0000"}', "conf: contains a NUL character"),
        ('{"\\u0000": 1}', "conf: contains a NUL character"),
        ('{"a": 1', "conf is not valid JSON: Expecting ',' delimiter (line 1, column 8)"),
        (b"\xff", "conf is not valid JSON: not UTF-8 text"),
    ],
)
def test_hostile_json_is_refused_naming_the_field(text: str | bytes, problem: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(problem)):
        loads_json(text, field="conf")


def test_ordinary_json_passes() -> None:
    nested = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert loads_json('{"a": [1, 2.5, "x", null, {"b": true}]}', field="c")["a"][1] == 2.5
    assert loads_json(nested, field="c") is not None
    check_json({"a": (1, 2)}, field="c")
    with pytest.raises(InvalidInputError, match="NaN"):
        check_json({"a": [float("nan")]}, field="c")


@pytest.mark.parametrize(
    "value",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=12))),
        datetime(9999, 12, 31),
    ],
)
def test_dates_at_the_calendars_ends_are_out_of_range(value: datetime) -> None:
    with pytest.raises(InvalidInputError, match="logical_date: out of range"):
        checked_datetime(value, field="logical_date")


def test_dates_in_range_keep_their_offset_and_naive_means_utc() -> None:
    plus_one = datetime(2026, 1, 5, 6, tzinfo=timezone(timedelta(hours=1)))
    assert checked_datetime(plus_one, field="d") == plus_one
    assert checked_datetime(plus_one, field="d").utcoffset() == timedelta(hours=1)
    assert checked_datetime(datetime(2026, 1, 5), field="d") == datetime(2026, 1, 5, tzinfo=UTC)


def test_ids_match_as_a_whole() -> None:
    pattern = re.compile(r"[a-z_]+")
    assert check_id("nl_test", pattern, field="run_id", allowed="a-z and _") == "nl_test"
    for bad in ("nl_test\n", "nl test", ""):
        with pytest.raises(InvalidInputError, match="run_id: a-z and _"):
            check_id(bad, pattern, field="run_id", allowed="a-z and _")
