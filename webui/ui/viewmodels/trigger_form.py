"""The trigger form generated from a DAG's params: one field per param, and back to conf.

Each param gets the widget its schema suggests (Airflow's trigger form does the same):
a select for ``enum`` (labels from ``values_display``), a checkbox for a boolean, a
number input with the bounds, date/time pickers for the ``format``, a text area for
``multiline`` and for lists of strings (one per line), a JSON text area for objects and
other arrays, a text input otherwise. Fields are grouped by ``section``. What the user
typed is kept as typed (``raw``), so a refused form comes back as it was sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.authoring.params import Param, display_key
from webui.ui.markdown import render_markdown

PREFIX = "param."
"""Form fields of params are named ``param.<name>``."""


@dataclass
class Field:
    """One param's input, as the template draws it."""

    name: str
    label: str
    widget: str
    """select, multiselect, checkbox, number, date, datetime, time, multiline, lines, json,
    email, url or text."""
    text: str = ""
    """The value as the input shows it (or the JSON of a select's chosen option)."""
    chosen: tuple[str, ...] = ()
    """A multi-select's chosen options (their JSON)."""
    checked: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    """``(JSON of the value, label)`` of a select."""
    description: str | None = None
    description_html: Any = None
    required: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)
    """min, max, step, minlength, maxlength, pattern of the input."""
    examples: list[str] = field(default_factory=list)

    @property
    def field_name(self) -> str:
        return PREFIX + self.name


@dataclass
class Section:
    name: str | None
    fields: list[Field]


_FORMAT_WIDGETS = {"date": "date", "date-time": "datetime", "time": "time",
                   "multiline": "multiline", "email": "email", "uri": "url"}  # fmt: skip


def _widget(param: Param) -> str:
    types = set(param.types) - {"null"}
    fmt = param.schema.get("format")
    if param.enum is not None:
        return "select"
    if types == {"boolean"}:
        return "checkbox"
    if types and types <= {"integer", "number"}:
        return "number"
    if types == {"string"} or (not types and fmt):
        return _FORMAT_WIDGETS.get(fmt or "", "text")
    if types == {"array"}:
        if param.schema.get("examples"):
            return "multiselect"
        items = param.schema.get("items") or {}
        return "lines" if items.get("type", "string") == "string" else "json"
    if types == {"object"} or types == {"array", "object"}:
        return "json"
    return "text"


def _label(options: Mapping[str, Any], value: Any) -> str:
    """``values_display`` label of ``value``, else the value itself."""
    return str(options.get(display_key(value), value))


def _shown(widget: str, value: Any) -> str:
    """A default as its input shows it."""
    if value is None:
        return ""
    if widget == "lines" and isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if widget == "json" or not isinstance(value, str | int | float):
        return json.dumps(value, indent=2, ensure_ascii=False)
    if widget == "datetime" and isinstance(value, str):
        return _to_local_input(value)
    return str(value)


def _to_local_input(value: str) -> str:
    """``2026-01-05T12:17:00+00:00`` → ``2026-01-05T12:17`` (a datetime-local input, UTC)."""
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S" if parsed.second else "%Y-%m-%dT%H:%M")


def _attributes(param: Param) -> dict[str, Any]:
    schema = param.schema
    found = {
        html: schema[key]
        for key, html in (("minimum", "min"), ("maximum", "max"), ("minLength", "minlength"),
                          ("maxLength", "maxlength"), ("pattern", "pattern"))
        if key in schema
    }  # fmt: skip
    if _widget(param) == "number":
        found["step"] = "1" if set(param.types) - {"null"} == {"integer"} else "any"
    if _widget(param) == "time":
        found["step"] = "1"
    return found


def build_field(name: str, param: Param, raw: MultiDict[str, str] | None) -> Field:
    widget = _widget(param)
    display = param.schema.get("values_display") or {}
    result = Field(
        name=name,
        label=param.title or name,
        widget=widget,
        description=param.description,
        description_html=render_markdown(param.schema.get("description_md")),
        required=param.required,
        attributes=_attributes(param),
        examples=[str(e) for e in param.schema.get("examples") or ()],
    )
    default = None if param.required else param.default
    if widget == "select":
        result.options = [(json.dumps(v), _label(display, v)) for v in param.enum or ()]
    if widget == "multiselect":
        result.options = [(json.dumps(v), _label(display, v)) for v in param.schema["examples"]]
    if widget == "checkbox":
        result.checked = (PREFIX + name in raw) if raw is not None else bool(default)
    elif widget == "multiselect":
        picked = raw.getlist(PREFIX + name) if raw is not None else map(json.dumps, default or ())
        result.chosen = tuple(picked)
    elif widget == "select":
        result.text = raw.get(PREFIX + name, "") if raw is not None else json.dumps(default)
    else:
        result.text = raw.get(PREFIX + name, "") if raw is not None else _shown(widget, default)
    return result


def build_sections(params: Mapping[str, Param], raw: MultiDict[str, str] | None) -> list[Section]:
    """The form's fields, in the params' order, grouped by section (first use orders them).
    A ``const`` param is not shown: its value is fixed (Airflow hides it too)."""
    sections: dict[str | None, Section] = {}
    for name, param in params.items():
        if "const" in param.schema:
            continue
        section = sections.setdefault(param.section, Section(param.section, []))
        section.fields.append(build_field(name, param, raw))
    return list(sections.values())


# -- back from the form ----------------------------------------------------------------------


def conf_from_form(
    params: Mapping[str, Param], form: MultiDict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The conf the form's fields say, and what could not be read, by ``param.<name>``.
    Whether the values fit the params is the engine's check, not this one's."""
    conf: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, param in params.items():
        if "const" in param.schema:
            continue
        try:
            conf[name] = _value(param, form, PREFIX + name)
        except ValueError as exc:
            errors[PREFIX + name] = str(exc)
    return conf, errors


def _value(param: Param, form: MultiDict[str, str], key: str) -> Any:
    widget = _widget(param)
    if widget == "checkbox":
        return key in form
    if widget == "multiselect":
        return [json.loads(item) for item in form.getlist(key)]
    text = form.get(key, "")
    if widget == "select":
        return json.loads(text) if text else None
    if widget == "multiline":
        return text.replace("\r\n", "\n") if text or "null" not in param.types else None
    if not text.strip():
        return _empty(param, widget)
    return _READERS.get(widget, _text)(param, text.strip())


def _empty(param: Param, widget: str) -> str | None:
    """An empty input: null, unless the param is a string that cannot be null."""
    if widget != "number" and "string" in param.types and "null" not in param.types:
        return ""
    return None


def _number(param: Param, text: str) -> int | float:
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    return int(number) if number.is_integer() and "." not in text else number


def _json(param: Param, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None


def _lines(param: Param, text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _datetime(param: Param, text: str) -> str:
    """A datetime-local input's ``2026-01-05T12:17`` as RFC 3339 in UTC."""
    if len(text) == 16:
        text += ":00"
    return text if text[-1] == "Z" or "+" in text[10:] else text + "+00:00"


def _text(param: Param, text: str) -> Any:
    """A text input: a string param takes the text; a param of several types (or none)
    takes the text as JSON when it reads as such (``500`` → 500), else as a string."""
    if set(param.types) - {"null"} == {"string"}:
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


_READERS = {
    "number": _number,
    "json": _json,
    "lines": _lines,
    "datetime": _datetime,
}
