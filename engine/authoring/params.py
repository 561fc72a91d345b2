"""DAG params: named defaults with a JSON schema that a run's ``conf`` may override.

As in Airflow, ``Param(default, description, **schema)`` takes JSON-schema keywords
(``type``, ``enum``, ``minimum``, ``format``, ...) and the trigger form's own (``title``,
``description_md``, ``section``, ``values_display``); ``schema={...}`` passes them as one
dict. Values are checked with the ``jsonschema`` library (see :mod:`.paramschema`), every
problem of every param at once. A plain value in ``params={...}`` is a default that also
fixes the param's JSON type (a string default accepts only strings: conf is untrusted
input, docs/decisions.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.authoring.paramschema import check_schema, schema_problems
from engine.errors import InvalidInputError

_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<required>"})()

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "array": (list, tuple),
    "object": (dict,),
}

FORM_KEYWORDS = frozenset({"title", "description_md", "section", "values_display"})
"""Keywords only the trigger form reads (a JSON schema validator ignores them)."""


class Param:
    """One DAG param. ``Param()`` with no default is required in every run's conf."""

    def __init__(self, default: Any = _MISSING, description: str | None = None, **kwargs: Any):
        schema = dict(kwargs.pop("schema")) if "schema" in kwargs else {}
        schema.update(kwargs)
        if description is None:
            description = schema.pop("description", None)
        schema.pop("description", None)
        check_schema(schema)
        self.default = _plain(default)
        self.description: str | None = description
        if isinstance(schema.get("values_display"), Mapping):
            schema["values_display"] = display_keys(schema["values_display"])
        self.schema: dict[str, Any] = _plain(schema)

    # -- what the schema says ---------------------------------------------------------------

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    @property
    def type(self) -> str | list[str] | None:
        """The JSON type (or types) the schema allows; None when it says none."""
        found: str | list[str] | None = self.schema.get("type")
        return found

    @property
    def types(self) -> tuple[str, ...]:
        """The allowed JSON types as a tuple (empty: any)."""
        found = self.type
        return () if found is None else (found,) if isinstance(found, str) else tuple(found)

    @property
    def enum(self) -> tuple[Any, ...] | None:
        found = self.schema.get("enum")
        return None if found is None else tuple(found)

    @property
    def title(self) -> str | None:
        found: str | None = self.schema.get("title")
        return found

    @property
    def section(self) -> str | None:
        found: str | None = self.schema.get("section")
        return found

    # -- checks -----------------------------------------------------------------------------

    def problems(self, value: Any) -> list[str]:
        """What is wrong with ``value`` for this param (empty when it fits)."""
        return schema_problems(self.schema, value)

    def check(self, name: str, value: Any) -> None:
        """Raise :class:`ParamsError` naming ``name`` unless ``value`` fits."""
        problems = self.problems(value)
        if problems:
            raise ParamsError({name: problems})

    # -- serialization ----------------------------------------------------------------------

    def serialize(self) -> dict[str, Any]:
        data: dict[str, Any] = {"description": self.description, "schema": self.schema}
        if not self.required:
            data["default"] = self.default
        data["required"] = self.required
        # Top-level copies for readers of the serialized DAG (the shell-safety linter).
        data["type"] = self.type
        data["enum"] = list(self.enum) if self.enum is not None else None
        return data

    @classmethod
    def deserialize(cls, data: Mapping[str, Any]) -> Param:
        if "schema" in data:
            schema = dict(data["schema"])
        else:  # written before params carried a schema
            schema = {k: data[k] for k in ("type", "enum", "minimum", "maximum") if data.get(k)}
        return cls(data.get("default", _MISSING), data.get("description"), schema=schema)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Param):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash(json.dumps(self.serialize(), sort_keys=True, default=str))

    def __repr__(self) -> str:
        return f"Param({self.default!r}, schema={self.schema!r})"


def display_key(value: Any) -> str:
    """How ``values_display`` names a value: a string as itself, others as JSON (``3``,
    ``null``), which is what its keys become in the serialized DAG anyway."""
    return value if isinstance(value, str) else json.dumps(value)


def display_keys(labels: Mapping[Any, Any]) -> dict[str, str]:
    return {display_key(value): str(label) for value, label in labels.items()}


def _plain(value: Any) -> Any:
    """Tuples become lists, so that what the file gave and what the database returns match."""
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


class ParamsError(InvalidInputError):
    """A conf that breaks one or more params; ``problems`` holds all of them, by
    ``conf.<param>``."""

    def __init__(self, problems: Mapping[str, list[str]]) -> None:
        listed = "; ".join(
            f"param {name!r} {problem}" for name, found in problems.items() for problem in found
        )
        super().__init__(
            f"conf does not fit the DAG's params: {listed}",
            problems={f"{_CONF}{name}": list(found) for name, found in problems.items()},
        )

    @property
    def by_param(self) -> dict[str, list[str]]:
        """The problems by param name."""
        return {field.removeprefix(_CONF): found for field, found in self.problems.items()}


_CONF = "conf."


def json_type_of(value: Any) -> str | None:
    """The JSON type a plain default fixes, or None (no constraint) for None and others."""
    if value is None:
        return None
    for name, types in _PYTHON_TYPES.items():
        if isinstance(value, types) and not (name != "boolean" and isinstance(value, bool)):
            return name
    return None


def as_params(raw: Mapping[str, Any] | None) -> dict[str, Param]:
    """Normalise a DAG's ``params`` argument: every value becomes a :class:`Param`; a plain
    default fixes the param's JSON type."""
    found: dict[str, Param] = {}
    for name, value in (raw or {}).items():
        if isinstance(value, Param):
            found[name] = value
        else:
            json_type = json_type_of(value)
            found[name] = Param(value, **({"type": json_type} if json_type else {}))
    return found


def default_problems(params: Mapping[str, Param]) -> list[str]:
    """Parse-time check: each default that does not fit its own param, by name."""
    return [
        f"param {name!r}: default {param.default!r} {problem}"
        for name, param in params.items()
        if not param.required
        for problem in param.problems(param.default)
    ]


def resolve_params(
    params: Mapping[str, Param],
    conf: Mapping[str, Any] | None,
    *,
    conf_overrides: bool = True,
) -> dict[str, Any]:
    """The params a run sees: defaults overridden by ``conf``, each checked.

    Keys of ``conf`` that are not params pass through unchecked (as in Airflow, where
    ``dag_run.conf`` may carry more than the declared params). With ``conf_overrides``
    false (``core.dag_run_conf_overrides_params``) conf is still checked, as Airflow does
    when a run is created, but the run sees the defaults. Raises :class:`ParamsError` with
    every problem of every param.
    """
    conf = dict(conf or {})
    resolved: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for name, param in params.items():
        if name in conf:
            value = conf[name]
        elif param.required:
            problems[name] = ["is required: give it in the run's conf"]
            continue
        else:
            value = param.default
        found = param.problems(value)
        if found:
            problems[name] = found
        resolved[name] = value if conf_overrides or param.required else param.default
    if problems:
        raise ParamsError(problems)
    return resolved
