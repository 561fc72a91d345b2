"""A param's JSON schema: which keywords Loom takes, and checking values with ``jsonschema``.

Airflow passes a ``Param``'s keyword arguments to ``jsonschema`` as they are, so a
misspelt keyword (``maxlength``) is silently no check at all; Loom refuses a keyword it
does not know, naming it. Formats are checked by Loom's own functions (the library's
checkers for ``date-time``, ``time`` and ``uri`` need optional packages and pass every
value without them). Messages are phrased like Loom's other input errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from engine.errors import InvalidInputError

KEYWORDS = frozenset(
    {
        # JSON schema: what a value must be
        "type", "enum", "const", "format", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "items",
        "minItems", "maxItems", "uniqueItems", "properties", "required",
        "additionalProperties", "examples",
        # the trigger form's
        "title", "description", "description_md", "section", "values_display",
    }
)  # fmt: skip
"""The keywords a ``Param`` takes (Airflow's, and the JSON-schema validation keywords)."""

JSON_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")

FORMATS = ("date", "date-time", "time", "email", "uri", "multiline", "duration")
"""Formats the trigger form knows; ``multiline`` is a text area, checked like any string."""


def check_schema(schema: dict[str, Any]) -> None:
    """Refuse unknown keywords and a schema that is not valid JSON schema, naming why."""
    unknown = sorted(set(schema) - KEYWORDS)
    if unknown:
        raise InvalidInputError(
            f"Param got unknown keyword(s) {', '.join(map(repr, unknown))}: "
            f"use JSON-schema keywords such as {', '.join(sorted(KEYWORDS)[:8])}, ..."
        )
    types = schema.get("type")
    for name in [types] if isinstance(types, str) else types or ():
        if name not in JSON_TYPES:
            raise InvalidInputError(
                f"Param type must be one of {', '.join(JSON_TYPES)}, got {name!r}"
            )
    if schema.get("format") is not None and schema["format"] not in FORMATS:
        raise InvalidInputError(
            f"Param format must be one of {', '.join(FORMATS)}, got {schema['format']!r}"
        )
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(_validated_part(schema))
    except SchemaError as exc:
        where = ".".join(map(str, exc.path)) or "schema"
        raise InvalidInputError(f"Param {where}: {exc.message}") from None


def _validated_part(schema: dict[str, Any]) -> dict[str, Any]:
    """What ``jsonschema`` sees: ``values_display`` may have non-string keys (Airflow's
    example maps numbers and None to labels), which a JSON schema cannot hold."""
    return {k: v for k, v in schema.items() if k != "values_display"}


def schema_problems(schema: dict[str, Any], value: Any) -> list[str]:
    """Every way ``value`` breaks ``schema`` (empty when it fits)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(_validated_part(schema), format_checker=_format_checker())
    errors = sorted(validator.iter_errors(value), key=lambda e: (list(e.path), e.validator))
    return [_phrase(error) for error in errors]


def _phrase(error: Any) -> str:
    where = "".join(f"[{p!r}]" for p in error.path)
    prefix = f"item {where} " if where else ""
    phrase = _PHRASES.get(str(error.validator), _message)
    return prefix + phrase(error)


def _message(error: Any) -> str:
    return str(error.message)


def _type_phrase(error: Any) -> str:
    expected = error.validator_value
    names = " or ".join(expected) if isinstance(expected, list) else expected
    return f"must be of type {names}, got {_json_name(error.instance)}"


def _json_name(value: Any) -> str:
    return type(value).__name__


_PHRASES: dict[str, Callable[[Any], str]] = {
    "type": _type_phrase,
    "enum": lambda e: f"must be one of {list(e.validator_value)}",
    "const": lambda e: f"must be {e.validator_value!r}",
    "minimum": lambda e: f"must be at least {e.validator_value}",
    "maximum": lambda e: f"must be at most {e.validator_value}",
    "exclusiveMinimum": lambda e: f"must be more than {e.validator_value}",
    "exclusiveMaximum": lambda e: f"must be less than {e.validator_value}",
    "minLength": lambda e: f"must be at least {e.validator_value} characters long",
    "maxLength": lambda e: f"must be at most {e.validator_value} characters long",
    "pattern": lambda e: f"must match the pattern {e.validator_value!r}",
    "format": lambda e: f"must be a valid {e.validator_value}, got {e.instance!r}",
    "minItems": lambda e: f"must have at least {e.validator_value} items",
    "maxItems": lambda e: f"must have at most {e.validator_value} items",
    "required": lambda e: e.message,
}


# -- formats ---------------------------------------------------------------------------------

_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]\d\d:\d\d)?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DURATION = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10  # fromisoformat also takes 20260105


def _is_date_time(value: str) -> bool:
    """RFC 3339: a date, ``T`` (or a space), a time and an offset (``Z`` or ``+01:00``)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None and len(value) >= 16


def _is_uri(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path) and " " not in value


_CHECKS: dict[str, Callable[[str], bool]] = {
    "date": _is_date,
    "date-time": _is_date_time,
    "time": lambda v: _TIME.fullmatch(v) is not None,
    "email": lambda v: _EMAIL.fullmatch(v) is not None,
    "uri": _is_uri,
    "duration": lambda v: _DURATION.fullmatch(v) is not None,
    "multiline": lambda v: True,
}


@cache
def _format_checker() -> Any:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, check in _CHECKS.items():
        checker.checks(name)(_strings_only(check))
    return checker


def _strings_only(check: Callable[[str], bool]) -> Callable[[object], bool]:
    """A format applies to strings; other types are the ``type`` keyword's business."""
    return lambda value: not isinstance(value, str) or check(value)
