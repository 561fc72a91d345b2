"""DAG params: named, typed defaults that a run's ``conf`` may override.

A plain value in ``params={...}`` is a default that also fixes the param's JSON type (a
string default accepts only strings: conf is untrusted input, docs/decisions.md); a
:class:`Param` states a JSON type, choices, bounds and a description, and can be
required (no default). A conf that breaks any param is refused with every problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import InvalidInputError

_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<required>"})()

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


@dataclass(frozen=True)
class Param:
    """One DAG param. ``Param()`` with no default is required in every run's conf."""

    default: Any = _MISSING
    type: str | None = None
    description: str | None = None
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type is not None and self.type not in _JSON_TYPES:
            raise InvalidInputError(
                f"Param type must be one of {', '.join(_JSON_TYPES)}, got {self.type!r}"
            )
        if self.enum is not None:
            object.__setattr__(self, "enum", tuple(self.enum))

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    def problems(self, value: Any) -> list[str]:
        """What is wrong with ``value`` for this param (empty when it fits)."""
        if self.type is not None and not _is_type(value, self.type):
            return [f"must be of type {self.type}, got {type(value).__name__}"]
        found: list[str] = []
        if self.enum is not None and value not in self.enum:
            found.append(f"must be one of {list(self.enum)}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                found.append(f"must be at least {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                found.append(f"must be at most {self.maximum}")
        return found

    def check(self, name: str, value: Any) -> None:
        """Raise :class:`InvalidInputError` naming ``name`` unless ``value`` fits."""
        problems = self.problems(value)
        if problems:
            raise ParamsError({name: problems})

    def serialize(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "description": self.description}
        if not self.required:
            data["default"] = self.default
        data["required"] = self.required
        data["enum"] = list(self.enum) if self.enum is not None else None
        data["minimum"] = self.minimum
        data["maximum"] = self.maximum
        return data

    @classmethod
    def deserialize(cls, data: Mapping[str, Any]) -> Param:
        return cls(
            default=data.get("default", _MISSING),
            type=data.get("type"),
            description=data.get("description"),
            enum=tuple(data["enum"]) if data.get("enum") is not None else None,
            minimum=data.get("minimum"),
            maximum=data.get("maximum"),
        )


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
    for name in ("boolean", "integer", "number", "string", "array", "object"):
        if _is_type(value, name):
            return name
    return None


def _is_type(value: Any, json_type: str) -> bool:
    if json_type in {"integer", "number"} and isinstance(value, bool):
        return False  # True is an int to Python, never a number to a JSON schema
    return isinstance(value, _JSON_TYPES[json_type])


def as_params(raw: Mapping[str, Any] | None) -> dict[str, Param]:
    """Normalise a DAG's ``params`` argument: every value becomes a :class:`Param`; a plain
    default fixes the param's JSON type."""
    return {
        name: value if isinstance(value, Param) else Param(default=value, type=json_type_of(value))
        for name, value in (raw or {}).items()
    }


def resolve_params(params: Mapping[str, Param], conf: Mapping[str, Any] | None) -> dict[str, Any]:
    """The params a run sees: defaults overridden by ``conf``, each checked.

    Keys of ``conf`` that are not params pass through unchecked (as in Airflow, where
    ``dag_run.conf`` may carry more than the declared params). Raises :class:`ParamsError`
    with every problem of every param.
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
        resolved[name] = value
    if problems:
        raise ParamsError(problems)
    return resolved
