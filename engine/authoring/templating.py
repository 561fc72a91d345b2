"""Rendering of templated task fields with Jinja2; an undefined name is an error that says which."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from engine.errors import TemplateError

if TYPE_CHECKING:
    import jinja2


@runtime_checkable
class Reference(Protocol):
    """A value known only when the task runs: an upstream XCom, a DAG param."""

    def resolve(self, context: Mapping[str, Any]) -> Any: ...


class TemplateOwner(Protocol):
    """What a DAG says about its templates (Airflow's DAG arguments of the same names)."""

    fileloc: str
    template_searchpath: list[str]
    user_defined_macros: dict[str, Any]
    user_defined_filters: dict[str, Callable[..., Any]]
    render_template_as_native_obj: bool


def _builtin_filters() -> dict[str, Callable[..., Any]]:
    """Loom's ``sh`` and Airflow's date filters (``{{ dag_run.logical_date | ds }}``)."""
    return {
        "sh": shell_quote,
        "ds": lambda d: d.strftime("%Y-%m-%d"),
        "ds_nodash": lambda d: d.strftime("%Y%m%d"),
        "ts": lambda d: d.isoformat(),
        "ts_nodash": lambda d: d.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": lambda d: d.isoformat().replace("-", "").replace(":", ""),
    }


def _new_environment(*, native: bool = False, searchpath: Sequence[str] = ()) -> jinja2.Environment:
    # Imported here: the serialized DAG that the CLI and the webserver read needs no Jinja2.
    import jinja2
    import jinja2.nativetypes

    kind = jinja2.nativetypes.NativeEnvironment if native else jinja2.Environment
    environment = kind(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # rendering shell commands and SQL, not HTML
        loader=jinja2.FileSystemLoader(list(searchpath)) if searchpath else None,
    )
    environment.filters.update(_builtin_filters())
    environment.filters.update(_plugin_filters)
    return environment


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """The environment of templates rendered without a DAG."""
    return _new_environment()


_plugin_filters: dict[str, Callable[..., Any]] = {}
"""Filters that plugins added (see :mod:`engine.plugins`), replaced as a whole on reload."""
_generation = 0
"""Bumped when plugins' filters change, so DAGs' cached environments are rebuilt."""


def set_plugin_filters(filters: Mapping[str, Callable[..., Any]]) -> None:
    """Make plugins' ``filters`` usable in every later rendering of this process."""
    global _generation
    environment = _environment()
    for name in _plugin_filters:
        environment.filters.pop(name, None)
    _plugin_filters.clear()
    _plugin_filters.update(filters)
    environment.filters.update(filters)
    _generation += 1


def builtin_filter_names() -> frozenset[str]:
    """Names of the filters Jinja2 and Loom define, which a plugin may not replace."""
    return frozenset(_environment().filters) - frozenset(_plugin_filters)


def search_path(dag: TemplateOwner) -> list[str]:
    """Where template files are found: the DAG file's folder, then ``template_searchpath``
    (a relative entry is relative to the DAG file's folder, not the worker's directory)."""
    folder = Path(dag.fileloc).parent
    return [str(folder)] + [str(folder / entry) for entry in dag.template_searchpath]


def environment_for(dag: TemplateOwner | None) -> jinja2.Environment:
    """The Jinja2 environment of ``dag``'s templates: its search path, ``user_defined_macros``
    (names of their own), ``user_defined_filters`` and native rendering; built once per DAG
    object (and again after plugins' filters change)."""
    if dag is None:
        return _environment()
    cached = getattr(dag, "_template_environment", None)
    if cached is not None and cached[0] == _generation:
        return cached[1]  # type: ignore[no-any-return]
    environment = _new_environment(
        native=bool(dag.render_template_as_native_obj), searchpath=search_path(dag)
    )
    environment.filters.update(dag.user_defined_filters)
    environment.globals.update(dag.user_defined_macros)
    setattr(dag, "_template_environment", (_generation, environment))  # noqa: B010
    return environment


def shell_quote(value: Any) -> str:
    """The ``sh`` filter: ``value`` as one shell word, whatever it contains.

    ``{{ params.region | sh }}`` is safe inside a ``bash_command`` even when the value comes
    from a run's conf, which any user allowed to trigger can set.
    """
    return shlex.quote(value if isinstance(value, str) else str(value))


def render_value(
    value: Any,
    context: Mapping[str, Any],
    *,
    where: str,
    environment: jinja2.Environment | None = None,
    template_ext: Sequence[str] = (),
) -> Any:
    """Render every string inside ``value`` (recursing into lists, tuples and dicts).

    References (XCom results, DAG params) are resolved, and their values are never
    rendered again: data from upstream is not a template. A string ending in one of
    ``template_ext`` (``.sh``, ``.sql``) names a template file, read from the environment's
    search path and rendered. ``where`` names the field for error messages, such as
    ``bash_command of task 'load'``.
    """

    def render(item: Any) -> Any:
        if isinstance(item, Reference):
            return item.resolve(context)
        if isinstance(item, str):
            if template_ext and item.endswith(tuple(template_ext)):
                return render_file(item, context, where=where, environment=environment)
            return render_string(item, context, where=where, environment=environment)
        if isinstance(item, list):
            return [render(v) for v in item]
        if isinstance(item, tuple):
            return tuple(render(v) for v in item)
        if isinstance(item, dict):
            return {k: render(v) for k, v in item.items()}
        return item

    return render(value)


def render_string(
    text: str,
    context: Mapping[str, Any],
    *,
    where: str,
    environment: jinja2.Environment | None = None,
) -> Any:
    """Render one template string, turning Jinja2's errors into :class:`TemplateError`
    (a native environment may return another type than ``str``)."""
    if "{{" not in text and "{%" not in text:
        return text
    with _template_errors(where, text):
        return (environment or _environment()).from_string(text).render(context)


def render_file(
    name: str,
    context: Mapping[str, Any],
    *,
    where: str,
    environment: jinja2.Environment | None = None,
) -> Any:
    """Render the template file ``name`` found on the environment's search path."""
    import jinja2

    environment = environment or _environment()
    with _template_errors(where, name):
        try:
            template = environment.get_template(name)
        except jinja2.TemplateNotFound:
            places = getattr(environment.loader, "searchpath", [])
            raise TemplateError(
                f"{where}: template file {name!r} not found in {places} (the DAG file's "
                "folder and template_searchpath); end the value with a space if it is "
                "not a file name"
            ) from None
        return template.render(context)


@contextmanager
def _template_errors(where: str, text: str) -> Iterator[None]:
    import jinja2

    try:
        yield
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{where}: {exc.message} in template {text!r}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"{where}: template syntax error on line {exc.lineno}: {exc.message}"
        ) from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"{where}: template file {exc.name!r} not found") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{where}: {exc}") from exc
