"""XCom values that are not JSON: how they are stored, restored and shown.

A task may return (or ``xcom_push``) what JSON holds, plus the common Python types that
Airflow's serializer restores: ``datetime`` (and pendulum's ``DateTime``), ``date``,
``time``, ``timedelta``, ``Decimal``, ``tuple``, ``set``, ``frozenset`` and dataclass
instances. Each of those is stored as a tagged object::

    {"__type__": "datetime", "__value__": "2026-01-01T00:00:00+00:00", "tz": "Europe/Paris"}
    {"__type__": "tuple", "__value__": [1, 2]}
    {"__type__": "dataclass", "__value__": {"class": "mod.Point", "fields": {"x": 1}}}

Plain JSON is stored unchanged, so values written before these types existed read back
the same. A dict that itself has a ``__type__`` key is wrapped (``{"__type__": "dict",
...}``) so that it is never mistaken for a tag.

:func:`decode` (workers: pulling a value) imports a dataclass's module, as the worker
imports DAG files; :func:`readable` (the API and UI) never imports anything.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

TYPE = "__type__"
VALUE = "__value__"

SUPPORTED = (
    "JSON values, datetime, date, time, timedelta, Decimal, tuple, set, frozenset, dataclasses"
)
"""What the error of an unsupported value lists."""


class XComValueError(TypeError):
    """A value no XCom can hold."""


def encode(value: Any) -> Any:
    """``value`` as JSON-compatible data; raises :class:`XComValueError` naming the type."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return _encode_dict(value)
    for kind, encoder in _ENCODERS:
        if isinstance(value, kind):
            return encoder(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _tag("dataclass", {"class": _class_path(type(value)), "fields": _fields(value)})
    raise XComValueError(
        f"{type(value).__name__} is not one of: {SUPPORTED} (Airflow 3 removed pickled XComs, "
        "enable_xcom_pickling: store the object elsewhere and pass where it is)"
    )


def _encode_dict(value: dict[Any, Any]) -> Any:
    bad = [k for k in value if not isinstance(k, str | int | float | bool) and k is not None]
    if bad:
        raise XComValueError(f"dict keys must be strings, got {type(bad[0]).__name__} {bad[0]!r}")
    encoded = {k: encode(v) for k, v in value.items()}
    return _tag("dict", encoded) if TYPE in value else encoded


def _tag(kind: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {TYPE: kind, VALUE: value, **extra}


def _datetime(value: datetime) -> dict[str, Any]:
    kind = "pendulum.DateTime" if type(value).__module__.startswith("pendulum") else "datetime"
    zone = _zone_name(value.tzinfo)
    return _tag(kind, value.isoformat(), **({"tz": zone} if zone else {}))


def _zone_name(zone: tzinfo | None) -> str | None:
    """The IANA name of a named zone (``Europe/Paris``); None for a fixed offset or none."""
    name = getattr(zone, "key", None) or getattr(zone, "name", None)
    return name if isinstance(name, str) and "/" in name else None


def _sorted(items: Any) -> list[Any]:
    encoded = [encode(v) for v in items]
    try:
        return sorted(encoded)
    except TypeError:  # mixed types: any order is as good (a set has none)
        return encoded


_ENCODERS: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (datetime, _datetime),  # before date: a datetime is a date
    (date, lambda v: _tag("date", v.isoformat())),
    (time, lambda v: _tag("time", v.isoformat())),
    (timedelta, lambda v: _tag("timedelta", v.total_seconds())),
    (Decimal, lambda v: _tag("decimal", str(v))),
    (tuple, lambda v: _tag("tuple", [encode(i) for i in v])),
    (frozenset, lambda v: _tag("frozenset", _sorted(v))),
    (set, lambda v: _tag("set", _sorted(v))),
)


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _fields(value: Any) -> dict[str, Any]:
    return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}


# -- reading back -------------------------------------------------------------------------


def _walk(stored: Any, tagged: Callable[[str, Any, dict[str, Any]], Any]) -> Any:
    """``stored`` with each tagged object replaced by ``tagged(kind, value, tag)``: the
    one place that knows the envelope (lists, plain dicts, a dict wrapped for its keys)."""
    if isinstance(stored, list):
        return [_walk(v, tagged) for v in stored]
    if not isinstance(stored, dict):
        return stored
    if TYPE not in stored:
        return {k: _walk(v, tagged) for k, v in stored.items()}
    if stored[TYPE] == "dict":
        return {k: _walk(v, tagged) for k, v in stored[VALUE].items()}
    return tagged(stored[TYPE], stored.get(VALUE), stored)


def decode(stored: Any) -> Any:
    """The value :func:`encode` stored, restored to its Python type."""
    return _walk(stored, _restore)


def _restore(kind: Any, value: Any, tag: dict[str, Any]) -> Any:
    if kind in ("datetime", "pendulum.DateTime"):
        return _restore_datetime(kind, value, tag.get("tz"))
    if kind == "dataclass":
        return _restore_dataclass(value)
    restore = _DECODERS.get(kind)
    if restore is None:
        raise XComValueError(f"unknown XCom value type {kind!r}")
    return restore(value)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "timedelta": lambda v: timedelta(seconds=v),
    "decimal": Decimal,
    "tuple": lambda v: tuple(decode(i) for i in v),
    "set": lambda v: {decode(i) for i in v},
    "frozenset": lambda v: frozenset(decode(i) for i in v),
}


def _restore_datetime(kind: str, text: str, zone: str | None) -> datetime:
    value = datetime.fromisoformat(text)
    if zone is not None:
        value = value.astimezone(ZoneInfo(zone))
    if kind == "pendulum.DateTime":
        import pendulum

        return pendulum.instance(value, tz=zone or value.tzinfo or "UTC")
    return value


def _restore_dataclass(value: dict[str, Any]) -> Any:
    module_name, _, name = value["class"].rpartition(".")
    cls: Any = importlib.import_module(module_name)
    for part in name.split("."):
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise XComValueError(f"{value['class']} is not a dataclass")
    fields = {k: decode(v) for k, v in value["fields"].items()}
    init = {f.name for f in dataclasses.fields(cls) if f.init}
    obj: Any = cls(**{k: v for k, v in fields.items() if k in init})
    for k, v in fields.items():
        if k not in init:
            object.__setattr__(obj, k, v)
    return obj


def readable(stored: Any) -> Any:
    """Plain JSON for people (the API and UI): dates as ISO text, tuples and sets as lists,
    a dataclass as its fields plus ``__class__``. Imports nothing."""
    return _walk(stored, _readable)


def _readable(kind: Any, value: Any, tag: dict[str, Any]) -> Any:
    if kind == "dataclass":
        return {"__class__": value["class"], **readable(value["fields"])}
    if kind == "timedelta":
        return str(timedelta(seconds=value))
    return readable(value)
