"""XCom values that are not JSON: stored with a type tag, restored as their type, shown
readably; plain JSON is stored unchanged."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
import pytest

from engine.authoring.xcomvalues import XComValueError, decode, encode, readable


@dataclass
class Point:
    x: int
    y: int
    tags: tuple[str, ...] = ()


@dataclass
class Shape:
    name: str
    corner: Point
    seen: set[int] = field(default_factory=set)
    area: float = field(init=False, default=0.0)


def roundtrip(value: Any) -> Any:
    """As a value travels: encoded, through JSON text (the database column), decoded."""
    return decode(json.loads(json.dumps(encode(value))))


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 5, 6, 30, tzinfo=UTC),
        datetime(2026, 1, 5, 6, 30),  # naive stays naive
        datetime(2026, 7, 1, 12, tzinfo=ZoneInfo("Europe/Paris")),
        date(2026, 1, 5),
        time(6, 30, 15),
        timedelta(days=1, seconds=3.5),
        Decimal("12.340"),
        (1, "a", (2, 3)),
        {3, 1, 2},
        frozenset({"b", "a"}),
        Point(1, 2, ("p",)),
        [datetime(2026, 1, 5, tzinfo=UTC), {"when": date(2026, 1, 1)}],
    ],
    ids=lambda v: type(v).__name__,
)
def test_each_common_type_comes_back_as_itself(value: Any) -> None:
    back = roundtrip(value)
    assert back == value
    assert type(back) is type(value)


def test_a_named_zone_is_kept_not_only_its_offset() -> None:
    paris = datetime(2026, 7, 1, 12, tzinfo=ZoneInfo("Europe/Paris"))
    back = roundtrip(paris)
    assert back.tzinfo == ZoneInfo("Europe/Paris")
    assert back + timedelta(days=180) == paris + timedelta(days=180)  # winter time follows


def test_a_pendulum_datetime_comes_back_as_pendulum_in_its_zone() -> None:
    value = pendulum.datetime(2026, 3, 1, 8, tz="Asia/Tokyo")
    back = roundtrip(value)
    assert isinstance(back, pendulum.DateTime)
    assert back == value
    assert back.timezone_name == "Asia/Tokyo"


def test_a_nested_dataclass_with_a_field_not_in_init_comes_back_whole() -> None:
    shape = Shape("sq", Point(0, 1), {5})
    shape.area = 4.0
    back = roundtrip(shape)
    assert back == shape
    assert back.area == 4.0
    assert isinstance(back.corner, Point)


def test_plain_json_is_stored_unchanged() -> None:
    value = {"n": 1, "items": [1.5, "x", None, True], "nested": {"a": []}}
    assert encode(value) == value
    assert decode(value) == value


def test_the_on_disk_shape_is_a_type_tag_and_a_value() -> None:
    assert encode((1, 2)) == {"__type__": "tuple", "__value__": [1, 2]}
    assert encode(datetime(2026, 1, 5, tzinfo=UTC)) == {
        "__type__": "datetime",
        "__value__": "2026-01-05T00:00:00+00:00",
    }
    assert encode({2, 1}) == {"__type__": "set", "__value__": [1, 2]}


def test_a_dict_that_looks_like_a_tag_is_not_mistaken_for_one() -> None:
    value = {"__type__": "tuple", "__value__": [1]}
    assert roundtrip(value) == value
    assert readable(encode(value)) == value


def test_an_unsupported_value_names_its_type() -> None:
    with pytest.raises(XComValueError, match="object is not one of: JSON values, datetime"):
        encode({"a": [object()]})
    with pytest.raises(XComValueError, match="Airflow 3 removed pickled XComs"):
        encode(object())
    with pytest.raises(XComValueError, match="dict keys must be strings, got tuple"):
        encode({(1, 2): "x"})


def test_readable_form_is_plain_json_and_imports_nothing() -> None:
    stored = encode(
        {
            "when": datetime(2026, 1, 5, tzinfo=UTC),
            "pair": (1, 2),
            "took": timedelta(minutes=90),
            "point": Point(1, 2),
        }
    )
    thing = {"class": "no_such_module.Thing", "fields": {"a": 1}}
    stored["other"] = {"__type__": "dataclass", "__value__": thing}
    assert readable(stored) == {
        "when": "2026-01-05T00:00:00+00:00",
        "pair": [1, 2],
        "took": "1:30:00",
        "point": {"__class__": f"{__name__}.Point", "x": 1, "y": 2, "tags": []},
        "other": {"__class__": "no_such_module.Thing", "a": 1},
    }
    json.dumps(readable(stored))
