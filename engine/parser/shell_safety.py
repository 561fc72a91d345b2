"""Warnings about shell commands whose templates put a run's conf into the shell unquoted.

A run's ``conf`` comes from whoever may trigger the DAG; ``params`` are overridden by it.
``bash_command="echo {{ params.region }}"`` therefore lets that person run commands on
the worker. The safe forms are ``{{ params.region | sh }}`` (shell quoting) or passing the
value through ``env=`` and using ``"$REGION"``. The check reads the template's syntax
tree: an output expression that reads ``params``, ``conf`` or ``dag_run.conf`` and is not
passed through ``sh`` last is flagged, unless it reads only params that cannot carry shell
syntax (typed integer, number or boolean, or limited to choices). It cannot follow values
through ``{% set %}`` or loops; it is a linter, not a sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes

SHELL_FIELDS = ("bash_command",)
"""Templated task fields that a shell runs."""

UNTRUSTED_NAMES = frozenset({"params", "conf"})
"""Template names whose values a run's conf controls (``dag_run.conf`` is checked too)."""

WARNING_TYPE = "unquoted conf in shell command"


SAFE_PARAM_TYPES = frozenset({"integer", "number", "boolean"})
"""Param types whose values cannot carry shell syntax."""


def shell_injection_warnings(dag: Mapping[str, Any]) -> list[str]:
    """One message per task field of a serialized DAG that interpolates conf unquoted."""
    safe = _safe_params(dag.get("params", {}))
    found: list[str] = []
    for task in dag.get("tasks", ()):
        for field in SHELL_FIELDS:
            template = task.get("fields", {}).get(field)
            if isinstance(template, str):
                found.extend(
                    f"task {task['task_id']!r}: {field} interpolates {{{{ {source} }}}} "
                    "without '| sh': a user who triggers with conf can run shell commands "
                    "on the worker (quote it with '| sh' or pass it in env=)"
                    for source in unquoted_untrusted(template, safe_params=safe)
                )
    return found


def _safe_params(params: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    return frozenset(
        name
        for name, param in params.items()
        if _safe_types(param.get("type")) or param.get("enum") is not None
    )


def _safe_types(types: str | list[str] | None) -> bool:
    """Every type the param allows is one that cannot carry shell syntax (null neither)."""
    allowed = [types] if isinstance(types, str) else list(types or ())
    return bool(allowed) and set(allowed) <= SAFE_PARAM_TYPES | {"null"}


def unquoted_untrusted(template: str, *, safe_params: frozenset[str] = frozenset()) -> list[str]:
    """The untrusted expressions ``template`` prints without ``| sh`` (their source text).

    ``safe_params`` are params whose values cannot carry shell syntax.
    """
    try:
        tree = _parser_environment().parse(template)
    except jinja2.TemplateSyntaxError:
        return []  # rendering reports the syntax error when the task runs
    return [
        _describe(expression)
        for output in tree.find_all(nodes.Output)
        for expression in output.nodes
        if not isinstance(expression, nodes.TemplateData)
        and not _is_quoted(expression)
        and _reads_untrusted(expression, safe_params)
    ]


@lru_cache(maxsize=1)
def _parser_environment() -> jinja2.Environment:
    return jinja2.Environment(autoescape=False)


def _is_quoted(expression: nodes.Node) -> bool:
    return isinstance(expression, nodes.Filter) and expression.name == "sh"


def _reads_untrusted(node: nodes.Node, safe_params: frozenset[str]) -> bool:
    """Whether ``node`` reads a bare untrusted name, ``dag_run.conf``, or ``params.x`` for
    an unsafe ``x``. An access on a name is judged as a whole (``params.n`` may be safe);
    only a subscript's own expression is looked into further."""
    if isinstance(node, nodes.Getattr | nodes.Getitem) and isinstance(node.node, nodes.Name):
        base, attribute = node.node.name, _attribute(node)
        if base == "dag_run":
            unsafe = attribute == "conf"
        elif base == "params":
            unsafe = attribute not in safe_params
        else:
            unsafe = base in UNTRUSTED_NAMES
        return unsafe or (
            isinstance(node, nodes.Getitem) and _reads_untrusted(node.arg, safe_params)
        )
    if isinstance(node, nodes.Name):
        return node.name in UNTRUSTED_NAMES
    return any(_reads_untrusted(child, safe_params) for child in node.iter_child_nodes())


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    yield node
    for child in node.iter_child_nodes():
        yield from _walk(child)


def _attribute(node: nodes.Getattr | nodes.Getitem) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    return node.arg.value if isinstance(node.arg, nodes.Const) else None


def _describe(expression: nodes.Node) -> str:
    """A readable name for the flagged expression (``params.region``, ``dag_run.conf``)."""
    for node in _walk(expression):
        if isinstance(node, nodes.Getattr | nodes.Getitem) and isinstance(node.node, nodes.Name):
            return f"{node.node.name}.{_attribute(node)}"
        if isinstance(node, nodes.Name) and node.name in UNTRUSTED_NAMES:
            return node.name
    return "conf"
