"""A task function's own source, and the reasons it could not run in another interpreter.

The function is sent as source text, as in Airflow: it must be a plain ``def`` (not a
lambda, a method or a generator) and self-contained — its imports inside it, no name
from the module around it. Its decorators (``@task.virtualenv(...)``) are dropped.
:func:`function_problems` finds what breaks these rules when the DAG file is parsed, so
the mistake is an import error naming the function, not a failure at run time.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import symtable
import textwrap
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

ALLOWED_GLOBALS = frozenset({"virtualenv_string_args"})
"""Names the runner defines for the function (Airflow's ``string_args``)."""

_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class FunctionSource:
    """What the other interpreter compiles: the ``def`` without its decorators."""

    name: str
    text: str
    """The source, dedented, padded with empty lines so line numbers match ``filename``."""
    filename: str


class SourceError(ValueError):
    """The function cannot be sent to another interpreter; the message says why."""


def function_source(func: Callable[..., Any]) -> FunctionSource:
    """The source of ``func`` to run elsewhere; raises :class:`SourceError`."""
    what = f"function {getattr(func, '__name__', func)!r}"
    if not isinstance(func, types.FunctionType):
        raise SourceError(f"needs a function defined with def, got {type(func).__name__}")
    if func.__name__ == "<lambda>":
        raise SourceError("needs a function defined with def, not a lambda")
    if inspect.isgeneratorfunction(func) or inspect.iscoroutinefunction(func):
        raise SourceError(f"{what} must be a plain def: generators and async are not supported")
    try:
        lines, first = inspect.getsourcelines(func)
    except (OSError, TypeError) as exc:
        raise SourceError(f"the source of {what} cannot be read: {exc}") from None
    text = textwrap.dedent("".join(lines))
    node = _function_node(ast.parse(text), func.__name__, what)
    body = "".join(text.splitlines(keepends=True)[node.lineno - 1 :])
    padding = "\n" * (first + node.lineno - 2)
    return FunctionSource(func.__name__, padding + body, func.__code__.co_filename)


def _function_node(module: ast.Module, name: str, what: str) -> ast.FunctionDef:
    for node in module.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise SourceError(f"the source of {what} is not a def statement named {name!r}")


def function_problems(func: Callable[..., Any]) -> list[str]:
    """Why ``func`` cannot run in another interpreter (empty when it can)."""
    try:
        source = function_source(func)
    except SourceError as exc:
        return [str(exc)]
    outside = sorted(set(_outside_names(source)))
    if not outside:
        return []
    return [
        f"function {source.name!r} is not self-contained: it uses {', '.join(outside)}, "
        "defined outside it; it runs in another Python interpreter, so import modules "
        "and define helpers inside the function"
    ]


def _outside_names(source: FunctionSource) -> Iterator[str]:
    """Names the function reads from the module around it (not builtins, not its own)."""
    top = symtable.symtable(source.text, source.filename, "exec")
    for child in top.get_children():
        if child.get_name() == source.name:
            yield from _globals_used(child, source.name)
    node = _function_node(ast.parse(source.text), source.name, source.name)
    defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
    for default in defaults:  # evaluated where the def runs: in the module around it
        for name in ast.walk(default):
            if isinstance(name, ast.Name) and name.id not in _BUILTINS:
                yield name.id


def _globals_used(table: symtable.SymbolTable, own_name: str) -> Iterator[str]:
    for symbol in table.get_symbols():
        name = symbol.get_name()
        if (
            symbol.is_referenced()
            and symbol.is_global()
            and not symbol.is_declared_global()
            and name not in _BUILTINS
            and name not in ALLOWED_GLOBALS
            and name != own_name
        ):
            yield name
    for child in table.get_children():
        yield from _globals_used(child, own_name)
