"""DAG validation: every problem in a DAG, each with its file and line where known.

Checks recorded while the DAG file ran (bad settings, invalid schedule, duplicate task
ids, links across DAGs) are joined by the graph checks done here with networkx: unknown
task references and cycles, each cycle reported as its path.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import networkx as nx

from engine.authoring.arguments import unknown_default_arg
from engine.authoring.baseoperator import BaseOperator
from engine.authoring.callsite import CallSite
from engine.authoring.dag import DAG
from engine.authoring.dagsettings import fail_fast_problems
from engine.authoring.serialization import dag_order
from engine.authoring.setupteardown import problems_of as setup_teardown_problems
from engine.authoring.tasksettings import SETTING_NAMES
from engine.errors import DagValidationError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a DAG."""

    message: str
    dag_id: str | None = None
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = CallSite(self.file, self.line)
        dag = f"DAG {self.dag_id!r}: " if self.dag_id else ""
        return f"{where}: {dag}{self.message}" if self.file else f"{dag}{self.message}"


def _problem(dag: DAG, message: str, site: CallSite) -> Problem:
    return Problem(message, dag.dag_id, site.file, site.line)


def validate_dag(dag: DAG) -> list[Problem]:
    """All problems of ``dag``; an empty list means it is valid.

    Resolves dependencies given by task id as a side effect, so call it once the DAG
    file has finished running.
    """
    problems = [_problem(dag, message, site) for message, site in dag.problems]
    problems += [_problem(dag, message, site) for message, site in dag.resolve_pending_edges()]
    for task in dag.tasks:
        problems += [
            _problem(dag, f"task {task.task_id!r}: {message}", task.call_site)
            for message in task.problems
        ]
    problems += [_problem(dag, message, site) for message, site in setup_teardown_problems(dag)]
    problems += _default_args_problems(dag)
    rules = ((task.task_id, task.trigger_rule) for task in dag.tasks)
    problems += [
        _problem(dag, message, dag.task_dict[task_id].call_site)
        for task_id, message in fail_fast_problems(dag.fail_fast is True, rules)
    ]
    problems += _cycle_problems(dag)
    return problems


DAG_DEFAULT_ARGS = frozenset({"params", "start_date", "end_date"})
"""``default_args`` keys that are not task arguments: the DAG reads them."""


def known_task_arguments() -> frozenset[str]:
    """Every keyword some task takes: a task setting, or a parameter of an operator class
    defined so far (Loom's and the DAG file's own)."""
    import engine.authoring.operators  # noqa: F401 - Loom's own operators count too

    names = set(SETTING_NAMES | DAG_DEFAULT_ARGS)
    pending: list[type[BaseOperator]] = [BaseOperator]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        init = cls.__dict__.get("__init__")
        if init is not None:
            names.update(
                name
                for name, p in inspect.signature(init).parameters.items()
                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
            )
    return frozenset(names - {"self", "task_id", "dag", "task_group"})


def _default_args_problems(dag: DAG) -> list[Problem]:
    """Unknown ``default_args`` keys: the DAG's at its line, a task's or a task group's own
    at theirs."""
    owners = [(dag.default_args, "", dag.call_site)] + [
        (task.own_default_args, f"task {task.task_id!r}: ", task.call_site) for task in dag.tasks
    ]
    owners += [
        (group.own_default_args, f"task group {group_id!r}: ", group.call_site)
        for group_id, group in dag.task_group.get_task_group_dict().items()
    ]
    if not any(keys for keys, _, _ in owners):
        return []
    known = known_task_arguments()
    return [
        _problem(dag, prefix + unknown_default_arg(key), site)
        for keys, prefix, site in owners
        for key in sorted(set(keys) - known)
    ]


def graph_of(dag: DAG) -> nx.DiGraph[str]:
    """The DAG's tasks and dependencies as a networkx directed graph."""
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(dag.task_ids)
    graph.add_edges_from(dag.edges)
    return graph


def _cycle_problems(dag: DAG) -> list[Problem]:
    """One problem per cycle (strongly connected part), reported at the ``>>`` or
    ``set_downstream`` call that closed it: the latest of its dependencies to be set."""
    graph = graph_of(dag)
    problems = []
    for component in nx.strongly_connected_components(graph):
        sub = graph.subgraph(component)
        if len(component) == 1 and not any(sub.has_edge(n, n) for n in component):
            continue
        up, down = _closing_edge(dag, list(sub.edges))
        path = [*nx.shortest_path(sub, down, up), down]
        site = dag.edge_sites.get((up, down), dag.task_dict[down].call_site)
        message = f"dependency cycle: {' -> '.join(path)} (closed by {up} >> {down})"
        problems.append(_problem(dag, message, site))
    return problems


def _closing_edge(dag: DAG, edges: list[tuple[str, str]]) -> tuple[str, str]:
    """Of a cycle's dependencies, the one set last (every edge of a strongly connected
    part lies on a cycle)."""
    rank = {edge: index for index, edge in enumerate(dag.edge_sites)}
    return max(edges, key=lambda edge: (rank.get(edge, -1), edge))


def check_dag(dag: DAG) -> None:
    """Raise :class:`DagValidationError` listing every problem, if there is any."""
    problems = validate_dag(dag)
    if problems:
        raise DagValidationError([str(p) for p in problems])


def topological_order(dag: DAG) -> list[str]:
    """Task ids in DAG order: each after its upstream tasks, ties by declaration order."""
    return list(dag_order({t.task_id: t.upstream_task_ids for t in dag.tasks}))
