"""A layered drawing of a DAG, left to right, with coordinates ready for SVG.

The classic three steps (Sugiyama's):

1. **Layers** by longest path from the sources (networkx's topological generations):
   every edge points to a later layer. An edge that skips layers is cut into a chain
   of virtual nodes, one per skipped layer, so that it routes around the nodes between.
2. **Order within layers** by the barycenter heuristic: sweeping down and up, each node
   moves to the mean position of its neighbours in the layer just swept; the order with
   the fewest edge crossings seen is kept.
3. **Coordinates**: one column per layer (as wide as its widest node), one slot per
   node or virtual node, each column centred on the tallest.

Pure and deterministic (ties break by the order nodes were given in), with no knowledge
of tasks or states: the caller passes node widths and edges and draws the result.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported by the functions that build graphs: networkx (~11 MB, 300 modules) loads
    # on the first layout, not with the webserver.
    import networkx as nx

NODE_HEIGHT = 40.0
LAYER_GAP = 64.0
"""Horizontal room between two columns, where the edges run."""
ROW_GAP = 14.0
MARGIN = 16.0
SWEEPS = 12
"""Barycenter sweeps (alternately down and up) before keeping the best order."""


@dataclass(frozen=True)
class NodeBox:
    """Where one node goes: its rectangle's top-left corner and size."""

    node_id: str
    layer: int
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def middle(self) -> float:
        return self.y + self.height / 2


@dataclass(frozen=True)
class EdgeRoute:
    """An edge as a line from the source's right side to the target's left side."""

    source: str
    target: str
    points: tuple[tuple[float, float], ...]
    """The ends and, for an edge that skips layers, one bend per skipped layer."""

    @property
    def path(self) -> str:
        """SVG path data: a smooth curve leaving and entering each point horizontally."""
        (x0, y0), rest = self.points[0], self.points[1:]
        parts = [f"M{x0:.1f},{y0:.1f}"]
        for x1, y1 in rest:
            bend = (x1 - x0) / 2
            parts.append(f"C{x0 + bend:.1f},{y0:.1f} {x1 - bend:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
            x0, y0 = x1, y1
        return " ".join(parts)


@dataclass(frozen=True)
class Layout:
    nodes: dict[str, NodeBox]
    edges: list[EdgeRoute]
    width: float
    height: float


@dataclass(frozen=True)
class _Bend:
    """A virtual node: where edge ``source → target`` crosses layer ``layer``."""

    source: str
    target: str
    layer: int


def layered_layout(widths: Mapping[str, float], edges: Iterable[tuple[str, str]]) -> Layout:
    """Lay out the DAG whose nodes have ``widths`` (in the order given) and ``edges``.

    Raises ``ValueError`` when an edge names an unknown node or the edges form a cycle.
    """
    graph = _graph(widths, edges)
    layer_of = _layers(graph)
    chained = _with_bends(graph, layer_of)
    layers = _ordered(chained, layer_of, list(widths))
    return _place(graph, chained, layers, widths)


def crossings(graph: nx.DiGraph[Hashable], layers: list[list[Hashable]]) -> int:
    """How many pairs of edges cross between adjacent layers in this order."""
    total = 0
    for upper, lower in pairwise(layers):
        position = {node: index for index, node in enumerate(lower)}
        ends = sorted(
            (index, position[child])
            for index, node in enumerate(upper)
            for child in graph.successors(node)
            if child in position
        )
        seen: list[int] = []
        for _, end in ends:
            total += len(seen) - bisect_right(seen, end)
            insort(seen, end)
    return total


def _graph(widths: Mapping[str, float], edges: Iterable[tuple[str, str]]) -> nx.DiGraph[str]:
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(widths)
    for source, target in edges:
        unknown = {source, target} - widths.keys()
        if unknown:
            raise ValueError(f"edge {source} -> {target} names unknown node(s) {sorted(unknown)}")
        graph.add_edge(source, target)
    return graph


def _layers(graph: nx.DiGraph[str]) -> dict[str, int]:
    """Each node's layer: the length of the longest path reaching it from a source."""
    import networkx as nx

    try:
        generations = list(nx.topological_generations(graph))
    except nx.NetworkXUnfeasible:
        raise ValueError("the edges form a cycle; only a DAG can be laid out") from None
    return {node: number for number, nodes in enumerate(generations) for node in nodes}


def _with_bends(graph: nx.DiGraph[str], layer_of: dict[str, int]) -> nx.DiGraph[Hashable]:
    """``graph`` with every edge that skips layers cut into a chain through :class:`_Bend`s."""
    import networkx as nx

    chained: nx.DiGraph[Hashable] = nx.DiGraph()
    chained.add_nodes_from(graph)
    for source, target in graph.edges:
        previous: Hashable = source
        for layer in range(layer_of[source] + 1, layer_of[target]):
            bend = _Bend(source, target, layer)
            chained.add_edge(previous, bend)
            previous = bend
        chained.add_edge(previous, target)
    return chained


def _ordered(
    chained: nx.DiGraph[Hashable], layer_of: dict[str, int], given: list[str]
) -> list[list[Hashable]]:
    """The nodes of each layer in the order that crosses the fewest edges found."""
    rank = {node: index for index, node in enumerate(given)}
    depth = max(layer_of.values(), default=-1) + 1
    layers: list[list[Hashable]] = [[] for _ in range(depth)]
    for node in chained.nodes:
        layers[node.layer if isinstance(node, _Bend) else layer_of[str(node)]].append(node)
    layers = [sorted(nodes, key=lambda n: _given_order(n, rank)) for nodes in layers]
    best, fewest = [list(nodes) for nodes in layers], crossings(chained, layers)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        indices = range(1, depth) if downward else range(depth - 2, -1, -1)
        for index in indices:
            neighbour = layers[index - 1] if downward else layers[index + 1]
            layers[index] = _by_barycenter(chained, layers[index], neighbour, upstream=downward)
        found = crossings(chained, layers)
        if found < fewest:
            best, fewest = [list(nodes) for nodes in layers], found
        if fewest == 0:
            break
    return best


def _given_order(node: Hashable, rank: dict[str, int]) -> tuple[int, int]:
    """Initial order: as given; a bend just after the node its edge comes from."""
    if isinstance(node, _Bend):
        return rank[node.source], rank[node.target] + 1
    return rank[str(node)], 0


def _by_barycenter(
    chained: nx.DiGraph[Hashable],
    layer: list[Hashable],
    neighbour: list[Hashable],
    *,
    upstream: bool,
) -> list[Hashable]:
    """``layer`` sorted by the mean position of each node's neighbours in ``neighbour``.

    A node without neighbours there keeps its place (its own position is its key).
    """
    position = {node: index for index, node in enumerate(neighbour)}
    scale = len(neighbour) / max(len(layer), 1)

    def key(item: tuple[int, Hashable]) -> tuple[float, int]:
        index, node = item
        linked = chained.predecessors(node) if upstream else chained.successors(node)
        places = [position[n] for n in linked if n in position]
        center = sum(places) / len(places) if places else index * scale
        return center, index

    return [node for _, node in sorted(enumerate(layer), key=key)]


def _place(
    graph: nx.DiGraph[str],
    chained: nx.DiGraph[Hashable],
    layers: list[list[Hashable]],
    widths: Mapping[str, float],
) -> Layout:
    pitch = NODE_HEIGHT + ROW_GAP
    tallest = max((len(nodes) for nodes in layers), default=0)
    centres: dict[Hashable, tuple[float, float]] = {}
    boxes: dict[str, NodeBox] = {}
    left = MARGIN
    for number, nodes in enumerate(layers):
        column = max((widths[n] for n in nodes if isinstance(n, str)), default=0.0)
        top = MARGIN + (tallest - len(nodes)) * pitch / 2
        for slot, node in enumerate(nodes):
            y = top + slot * pitch
            if isinstance(node, str):
                box = NodeBox(
                    node, number, left + (column - widths[node]) / 2, y, widths[node], NODE_HEIGHT
                )
                boxes[node] = box
            centres[node] = (left + column / 2, y + NODE_HEIGHT / 2)
        left += column + LAYER_GAP
    routes = [_route(source, target, chained, boxes, centres) for source, target in graph.edges]
    width = max(left - LAYER_GAP + MARGIN, 2 * MARGIN)
    height = 2 * MARGIN + max(tallest * pitch - ROW_GAP, 0.0)
    return Layout(boxes, routes, width, height)


def _route(
    source: str,
    target: str,
    chained: nx.DiGraph[Hashable],
    boxes: dict[str, NodeBox],
    centres: dict[Hashable, tuple[float, float]],
) -> EdgeRoute:
    start, end = boxes[source], boxes[target]
    points = [(start.right, start.middle)]
    node: Hashable = source
    while True:
        node = next(n for n in chained.successors(node) if _on_edge(n, source, target))
        if not isinstance(node, _Bend):
            break
        points.append(centres[node])
    points.append((end.x, end.middle))
    return EdgeRoute(source, target, tuple(points))


def _on_edge(node: Hashable, source: str, target: str) -> bool:
    if isinstance(node, _Bend):
        return (node.source, node.target) == (source, target)
    return node == target
