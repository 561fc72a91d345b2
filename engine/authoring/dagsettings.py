"""Checks of the DAG's presentation and run-policy arguments: ``dag_display_name``,
``owner_links``, ``fail_fast`` and ``max_consecutive_failed_dag_runs``.

Each check returns messages; the DAG records them as problems, so they are reported with
every other problem of the file (see :mod:`engine.authoring.validation`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from engine.authoring.trigger_rules import TriggerRule

if TYPE_CHECKING:
    from engine.authoring.dag import DAG

FAIL_FAST_RULES = frozenset({TriggerRule.ALL_SUCCESS, TriggerRule.ALL_DONE_SETUP_SUCCESS})
"""Trigger rules a task of a ``fail_fast`` DAG may have: the default, and the teardowns'
(Airflow 3 allows the same two)."""


def owner_link_problem(owner: Any, link: Any) -> str | None:
    """Why ``link`` is not a valid link for ``owner``; None when it is.

    Like Airflow: an ``http``/``https`` URL with a host, or a ``mailto:`` address.
    """
    if not isinstance(owner, str) or not owner:
        return f"owner_links: owner names must be non-empty strings, got {owner!r}"
    if isinstance(link, str):
        parts = urlsplit(link)
        scheme = parts.scheme.lower()
        if scheme in ("http", "https") and parts.netloc:
            return None
        if scheme == "mailto" and "@" in parts.path:
            return None
    return (
        f"owner_links: the link of owner {owner!r} must be an http(s) URL or a mailto: "
        f"address, got {link!r}"
    )


def presentation_problems(dag: DAG) -> list[str]:
    """Problems of the arguments checked without the DAG's tasks."""
    problems: list[str] = []
    name = dag.dag_display_name
    if name is not None and (not isinstance(name, str) or not name.strip()):
        problems.append(f"dag_display_name must be a non-empty string, got {name!r}")
    problems += [
        problem
        for owner, link in dag.owner_links.items()
        if (problem := owner_link_problem(owner, link)) is not None
    ]
    if not isinstance(dag.fail_fast, bool):
        problems.append(f"fail_fast must be True or False, got {dag.fail_fast!r}")
    limit = dag.max_consecutive_failed_dag_runs
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        problems.append(
            "max_consecutive_failed_dag_runs must be a non-negative integer (0: never pause), "
            f"got {limit!r}"
        )
    return problems


def fail_fast_problems(
    fail_fast: bool, rules: Iterable[tuple[str, TriggerRule]]
) -> list[tuple[str, str]]:
    """``(task_id, message)`` for each task (given as ``(task_id, trigger_rule)``) of a
    ``fail_fast`` DAG whose rule it forbids, in Airflow's words (its
    ``FailFastDagInvalidTriggerRule``)."""
    if not fail_fast:
        return []
    return [
        (
            task_id,
            f"task {task_id!r}: A 'fail_fast' dag can only have "
            f"{TriggerRule.ALL_SUCCESS.value} trigger rule (it has {TriggerRule(rule).value})",
        )
        for task_id, rule in rules
        if rule not in FAIL_FAST_RULES
    ]


def template_problems(searchpath: Any, macros: Any, filters: Any, native: Any) -> list[str]:
    """Problems of the DAG's template arguments, before they are normalised."""
    problems: list[str] = []
    paths = [searchpath] if isinstance(searchpath, str) else searchpath
    if paths is not None and (
        not isinstance(paths, Iterable) or not all(isinstance(p, str) for p in paths)
    ):
        problems.append(
            f"template_searchpath must be a folder or a list of folders, got {searchpath!r}"
        )
    for name, value in (("user_defined_macros", macros), ("user_defined_filters", filters)):
        if value is not None and not (
            isinstance(value, Mapping) and all(isinstance(k, str) for k in value)
        ):
            problems.append(f"{name} must be a dict of names to values, got {value!r}")
    if isinstance(filters, Mapping):
        problems += [
            f"user_defined_filters[{k!r}] must be callable, got {v!r}"
            for k, v in filters.items()
            if not callable(v)
        ]
    if not isinstance(native, bool):
        problems.append(f"render_template_as_native_obj must be True or False, got {native!r}")
    return problems


def as_searchpath(value: Any) -> list[str]:
    """``template_searchpath`` as a list (empty when invalid: :func:`template_problems`
    reports it)."""
    paths = [value] if isinstance(value, str) else value
    if isinstance(paths, Iterable) and all(isinstance(p, str) for p in paths):
        return list(paths)
    return []


def as_mapping(value: Any) -> dict[str, Any]:
    """A ``user_defined_*`` argument as a dict (empty when invalid)."""
    return dict(value) if isinstance(value, Mapping) else {}
