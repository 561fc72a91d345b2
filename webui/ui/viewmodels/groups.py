"""Task groups as the grid and the graph show them: collapsed groups, their edges and
their aggregated state.

A collapsed group stands for every task in it (at any depth): it is one node, with one
state summarising theirs, and edges to or from its tasks end at it. Which groups are
expanded is the caller's choice (the page's ``expand`` argument); the root is always open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.authoring.serialization import SerializedDAG
from engine.state import TaskInstanceState
from webui.ui.viewmodels.graph_layout import Layout, NodeBox

if TYPE_CHECKING:
    import networkx as nx  # imported on first use below, as in graph_layout

_URGENT = (
    "failed",
    "upstream_failed",
    "up_for_retry",
    "up_for_reschedule",
    "running",
    "deferred",
    "restarting",
    "queued",
    "scheduled",
)
"""States that say most about a group, first first: the group takes the first one any of
its tasks is in (see docs/decisions.md, "Task groups: the aggregated state")."""
_DONE = ("success", "skipped", "removed")


def aggregate_state(
    states: Iterable[TaskInstanceState | None],
) -> TaskInstanceState | None:
    """One state for a group from its tasks' states in one run.

    Failed if any failed, then upstream failed, up for retry, running (and the other
    in-flight states), queued, scheduled; else not started (``none``) if any task has not
    started; else success if any succeeded, else skipped, else removed. ``None`` when no
    task of the group has an instance in the run.
    """
    present = [state for state in states if state is not None]
    if not present:
        return None
    by_value = {state.value: state for state in present}
    for value in (*_URGENT, "none"):
        if value in by_value:
            return by_value[value]
    for value in _DONE:
        if value in by_value:
            return by_value[value]
    return present[0]  # a state this module does not know yet: show it as it is


def parse_expanded(arg: str | None, dag: SerializedDAG) -> set[str]:
    """The groups named in ``?expand=a,a.b`` that exist (``*`` expands every group)."""
    if not arg:
        return set()
    if arg.strip() == "*":
        return set(dag.task_groups)
    return {group_id for group_id in arg.split(",") if group_id in dag.task_groups}


def members(dag: SerializedDAG) -> dict[str, list[str]]:
    """Each group's task ids at any depth, in the DAG's order (one pass over the tasks)."""
    found: dict[str, list[str]] = {group_id: [] for group_id in dag.task_groups}
    for task_id in dag.order:
        for group_id in dag.group_path(task_id):
            found[group_id].append(task_id)
    return found


@dataclass(frozen=True)
class GroupedGraph:
    """The DAG's graph with its collapsed groups folded into single nodes."""

    nodes: list[str]
    """Visible node ids (task ids and collapsed group ids), in the DAG's order."""
    edges: list[tuple[str, str]]
    labels: dict[tuple[str, str], str]
    expanded: frozenset[str]
    """The groups drawn open (as boxes around their visible nodes)."""


def visible_node(dag: SerializedDAG, task_id: str, expanded: set[str] | frozenset[str]) -> str:
    """What ``task_id`` shows as: the outermost collapsed group it is in, else itself."""
    for group_id in dag.group_path(task_id):
        if group_id not in expanded:
            return group_id
    return task_id


def grouped_graph(dag: SerializedDAG, expanded: set[str]) -> GroupedGraph:
    """The graph with every group not in ``expanded`` collapsed.

    Folding can close a cycle (``a`` in a group, ``x`` outside, ``a >> x >> b`` with ``b``
    in the same group): then the groups on the cycle are opened until none is left.
    """
    import networkx as nx

    opened = set(expanded)
    while True:
        folded = _fold(dag, frozenset(opened))
        graph: nx.DiGraph[str] = nx.DiGraph(folded.edges)
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return folded
        opened |= {node for edge in cycle for node in edge[:2] if node in dag.task_groups}


def _fold(dag: SerializedDAG, expanded: frozenset[str]) -> GroupedGraph:
    shown = {task_id: visible_node(dag, task_id, expanded) for task_id in dag.order}
    held = members(dag)
    nodes = list(dict.fromkeys(shown.values()))
    edges: list[tuple[str, str]] = []
    labels: dict[tuple[str, str], str] = {}
    for up, down in dag.edges:
        edge = (shown[up], shown[down])
        if edge[0] == edge[1]:
            continue
        label = dag.edge_label(up, down)
        if label is not None:
            labels.setdefault(edge, label)
        edges.append(edge)
    drawn = set(edges)
    for up, downs in dag.edge_info.items():
        for down, info in downs.items():
            edge = (
                _join_node(dag, up, shown, held, expanded),
                _join_node(dag, down, shown, held, expanded),
            )
            if "label" in info and edge in drawn:
                labels.setdefault(edge, info["label"])
    return GroupedGraph(nodes, list(dict.fromkeys(edges)), labels, expanded)


def _join_node(
    dag: SerializedDAG,
    node_id: str,
    shown: Mapping[str, str],
    held: Mapping[str, list[str]],
    expanded: frozenset[str],
) -> str:
    """The visible node of an edge end in ``edge_info``: a task, or a group's join node."""
    if node_id in shown:
        return shown[node_id]
    group_id = node_id.rsplit(".", 1)[0]
    if group_id in dag.task_groups and group_id not in expanded:
        first = next(iter(held[group_id]), None)
        if first is not None:
            return visible_node(dag, first, expanded)
    return node_id  # an open group's join: its tasks' own edges carry the label


@dataclass(frozen=True)
class GroupBox:
    """An open group drawn as a box around its visible nodes."""

    group_id: str
    label: str
    x: float
    y: float
    width: float
    height: float


BOX_PAD = 7.0
"""Room between an open group's box and what it holds (each nesting level adds it)."""


def group_boxes(dag: SerializedDAG, folded: GroupedGraph, layout: Layout) -> list[GroupBox]:
    """A box per open group around the nodes inside it, outer groups first."""
    inside: dict[str, list[NodeBox]] = {group_id: [] for group_id in folded.expanded}
    for node, box in layout.nodes.items():
        for group_id in dag.group_path(node):
            if group_id in inside:
                inside[group_id].append(box)
    height = {group_id: _open_levels(dag, group_id, folded.expanded) for group_id in inside}
    boxes = []
    for group_id in sorted(inside, key=lambda g: (len(dag.group_path(g)), g)):
        held = inside[group_id]
        if not held:
            continue
        pad = BOX_PAD * height[group_id]
        left, top = min(b.x for b in held) - pad, min(b.y for b in held) - pad
        right = max(b.right for b in held) + pad
        bottom = max(b.y + b.height for b in held) + pad
        label = dag.task_groups[group_id].label
        boxes.append(GroupBox(group_id, label, left, top, right - left, bottom - top))
    return boxes


def _open_levels(dag: SerializedDAG, group_id: str, expanded: frozenset[str]) -> int:
    """1 for an open group with no open subgroup, one more per level of open subgroups."""
    below = [
        _open_levels(dag, child, expanded)
        for child in dag.task_groups[group_id].children
        if child in expanded
    ]
    return 1 + max(below, default=0)
