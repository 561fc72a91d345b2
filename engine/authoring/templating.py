"""Rendering of templated task fields with Jinja2; an undefined name is an error that says which."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from engine.errors import TemplateError

if TYPE_CHECKING:
    import jinja2


@runtime_checkable
class Reference(Protocol):
    """A value known only when the task runs: an upstream XCom, a DAG param."""

    def resolve(self, context: Mapping[str, Any]) -> Any: ...


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # Imported here: the serialized DAG that the CLI and the webserver read needs no Jinja2.
    import jinja2

    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # rendering shell commands and SQL, not HTML
    )
    environment.filters["sh"] = shell_quote
    return environment


_plugin_filter_names: set[str] = set()
"""Filters that plugins added (see :mod:`engine.plugins`), replaced as a whole on reload."""


def set_plugin_filters(filters: Mapping[str, Callable[..., Any]]) -> None:
    """Make plugins' ``filters`` usable in every later rendering of this process."""
    environment = _environment()
    for name in _plugin_filter_names:
        environment.filters.pop(name, None)
    _plugin_filter_names.clear()
    environment.filters.update(filters)
    _plugin_filter_names.update(filters)


def builtin_filter_names() -> frozenset[str]:
    """Names of the filters Jinja2 and Loom define, which a plugin may not replace."""
    return frozenset(_environment().filters) - _plugin_filter_names


def shell_quote(value: Any) -> str:
    """The ``sh`` filter: ``value`` as one shell word, whatever it contains.

    ``{{ params.region | sh }}`` is safe inside a ``bash_command`` even when the value comes
    from a run's conf, which any user allowed to trigger can set.
    """
    return shlex.quote(value if isinstance(value, str) else str(value))


def render_value(value: Any, context: Mapping[str, Any], *, where: str) -> Any:
    """Render every string inside ``value`` (recursing into lists, tuples and dicts).

    References (XCom results, DAG params) are resolved, and their values are never
    rendered again: data from upstream is not a template. ``where`` names the field for
    error messages, such as ``bash_command of task 'load'``.
    """
    if isinstance(value, Reference):
        return value.resolve(context)
    if isinstance(value, str):
        return render_string(value, context, where=where)
    if isinstance(value, list):
        return [render_value(v, context, where=where) for v in value]
    if isinstance(value, tuple):
        return tuple(render_value(v, context, where=where) for v in value)
    if isinstance(value, dict):
        return {k: render_value(v, context, where=where) for k, v in value.items()}
    return value


def render_string(text: str, context: Mapping[str, Any], *, where: str) -> str:
    """Render one template string, turning Jinja2's errors into :class:`TemplateError`."""
    if "{{" not in text and "{%" not in text:
        return text
    import jinja2

    try:
        return _environment().from_string(text).render(context)
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{where}: {exc.message} in template {text!r}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"{where}: template syntax error on line {exc.lineno}: {exc.message}"
        ) from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{where}: {exc}") from exc
