"""Checking one plugin class: every attribute known, every value usable.

A problem is a :class:`PluginError` that names the file, the plugin, the attribute and
what is wrong, such as ``plugins/ops.py: plugin OpsPlugin: macros[1] must be a function,
not str``. What passes is a :class:`CheckedPlugin`, its values in one shape each.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.authoring.timetables.base import Timetable
from engine.errors import PluginError
from engine.plugins.base import LISTENER_HOOKS, PLUGIN_ATTRIBUTES, LoomPlugin, UiLink

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""Plugin, macro and filter names: they are written in templates as identifiers."""

TIMETABLE_METHODS = ("next_dagrun_info", "infer_manual_data_interval")
"""What a timetable class must define itself (see :class:`engine.Timetable`)."""


@dataclass(frozen=True)
class CheckedPlugin:
    """A plugin class that passed its checks, with its values normalised."""

    name: str
    file: Path
    class_name: str
    operators: tuple[type[Any], ...]
    macros: dict[str, Callable[..., Any]]
    template_filters: dict[str, Callable[..., Any]]
    timetables: tuple[type[Any], ...]
    listeners: tuple[object, ...]
    ui_links: tuple[UiLink, ...]


class _ProblemError(Exception):
    """One attribute's problem; :func:`check_plugin` adds the file, plugin and attribute."""


def check_plugin(cls: type[LoomPlugin], file: Path) -> CheckedPlugin:
    """``cls`` checked; raises :class:`PluginError` naming the file, attribute and problem."""
    where = f"{file}: plugin {cls.__name__}"
    _check_known_attributes(cls, where)
    values: dict[str, Any] = {}
    for attribute, check in _CHECKS.items():
        try:
            values[attribute] = check(getattr(cls, attribute))
        except _ProblemError as exc:
            raise PluginError(f"{where}: {attribute}{exc}") from None
    return CheckedPlugin(file=file, class_name=cls.__name__, **values)


def _check_known_attributes(cls: type[LoomPlugin], where: str) -> None:
    for klass in cls.__mro__:
        if klass is LoomPlugin or not issubclass(klass, LoomPlugin):
            continue
        for attribute in vars(klass):
            if not attribute.startswith("_") and attribute not in PLUGIN_ATTRIBUTES:
                raise PluginError(
                    f"{where}: {attribute} is not a plugin attribute Loom knows "
                    f"(known: {', '.join(PLUGIN_ATTRIBUTES)})"
                )


def _sequence(value: object) -> list[Any]:
    if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):
        raise _ProblemError(f" must be a list, not {type(value).__name__}")
    return list(value)


def _identifier(value: object, what: str) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise _ProblemError(f"{what} must be a name of letters, digits and '_', got {value!r}")
    return value


def _name(value: object) -> str:
    return _identifier(value, "")


def _operators(value: object) -> tuple[type[Any], ...]:
    from engine.authoring.baseoperator import BaseOperator

    items = _sequence(value)
    for index, item in enumerate(items):
        if not (isinstance(item, type) and issubclass(item, BaseOperator)):
            raise _ProblemError(f"[{index}] must be a BaseOperator subclass, not {item!r}")
    return tuple(items)


def _macros(value: object) -> dict[str, Callable[..., Any]]:
    macros: dict[str, Callable[..., Any]] = {}
    for index, item in enumerate(_sequence(value)):
        if not callable(item) or isinstance(item, type):
            raise _ProblemError(f"[{index}] must be a function, not {type(item).__name__}")
        name = _identifier(getattr(item, "__name__", None), f"[{index}]'s name")
        if name in macros:
            raise _ProblemError(f"[{index}]: a second macro named {name!r}")
        macros[name] = item
    return macros


def _template_filters(value: object) -> dict[str, Callable[..., Any]]:
    if not isinstance(value, Mapping):
        raise _ProblemError(f" must be a dict of name to function, not {type(value).__name__}")
    for name, item in value.items():
        _identifier(name, f" key {name!r}:")
        if not callable(item):
            raise _ProblemError(f"[{name!r}] must be a function, not {type(item).__name__}")
    return dict(value)


def _timetables(value: object) -> tuple[type[Any], ...]:
    items = _sequence(value)
    for index, item in enumerate(items):
        if not isinstance(item, type):
            raise _ProblemError(f"[{index}] must be a timetable class, not {item!r}")
        if not issubclass(item, Timetable):
            raise _ProblemError(
                f"[{index}] ({item.__name__}) must subclass Timetable "
                "(from engine import Timetable)"
            )
        missing = [
            name for name in TIMETABLE_METHODS if getattr(item, name) is getattr(Timetable, name)
        ]
        if missing:
            raise _ProblemError(f"[{index}] ({item.__name__}) lacks {', '.join(missing)}")
    return tuple(items)


def _listeners(value: object) -> tuple[object, ...]:
    items = _sequence(value)
    for index, item in enumerate(items):
        hooks = [name for name in dir(item) if name.startswith("on_")]
        unknown = [name for name in hooks if name not in LISTENER_HOOKS]
        if unknown:
            raise _ProblemError(
                f"[{index}] defines {', '.join(unknown)}, which Loom never calls "
                f"(hooks: {', '.join(LISTENER_HOOKS)})"
            )
        if not hooks:
            raise _ProblemError(f"[{index}] defines none of {', '.join(LISTENER_HOOKS)}")
        if not all(callable(getattr(item, name)) for name in hooks):
            raise _ProblemError(f"[{index}]: its hooks must be functions")
    return tuple(items)


def _ui_links(value: object) -> tuple[UiLink, ...]:
    links = []
    for index, item in enumerate(_sequence(value)):
        if isinstance(item, Mapping) and set(item) == {"name", "href"}:
            item = UiLink(item["name"], item["href"])
        if not isinstance(item, UiLink):
            raise _ProblemError(
                f"[{index}] must be a UiLink or a dict of name and href, not {item!r}"
            )
        if not isinstance(item.name, str) or not item.name.strip():
            raise _ProblemError(f"[{index}]: name must be non-empty text")
        if not isinstance(item.href, str) or not item.href.startswith(("http://", "https://", "/")):
            raise _ProblemError(f"[{index}]: href must start with http://, https:// or /")
        links.append(item)
    return tuple(links)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "operators": _operators,
    "macros": _macros,
    "template_filters": _template_filters,
    "timetables": _timetables,
    "listeners": _listeners,
    "ui_links": _ui_links,
}
