"""Edge labels: ``a >> Label("if yes") >> b``, as in Airflow 3.

A :class:`Label` is not a task. It waits until it knows both of its sides, then links
every upstream node to every downstream node and records the label on each edge it made
in the DAG's ``edge_info`` (the graph draws it; scheduling ignores it).
"""

from __future__ import annotations

from typing import Any

from engine.authoring.dependencies import DependencyMixin


class EdgeModifier(DependencyMixin):
    """Something written between two nodes of a dependency chain that adds to the edges."""

    def __init__(self, label: str | None = None) -> None:
        self.label = label
        self._upstream: list[Any] = []
        self._downstream: list[Any] = []

    def add_upstream(self, node: Any) -> None:
        """``node`` (a task, XCom result or group) comes before this modifier."""
        _check_operand(node)
        self._upstream.append(node)
        for down in self._downstream:
            self._connect(node, down)

    def add_downstream(self, node: Any) -> None:
        """``node`` (a task, XCom result or group) comes after this modifier."""
        _check_operand(node)
        self._downstream.append(node)
        for up in self._upstream:
            self._connect(up, node)

    def _connect(self, up: Any, down: Any) -> None:
        from engine.authoring.baseoperator import link_nodes

        link_nodes(up, down, self)

    @property
    def edge_info(self) -> dict[str, str]:
        return {"label": self.label} if self.label is not None else {}

    # -- dependencies: a modifier buffers one side until the other is known -----------

    def set_upstream(self, other: Any, edge_modifier: Any = None) -> None:
        for node in _items(other):
            self.add_upstream(node)

    def set_downstream(self, other: Any, edge_modifier: Any = None) -> None:
        for node in _items(other):
            self.add_downstream(node)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r})"


def Label(label: str) -> EdgeModifier:  # noqa: N802 - Airflow's name for it
    """A label drawn on the edges between the nodes on either side: ``a >> Label("x") >> b``."""
    return EdgeModifier(label)


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | set) else [value]


def _check_operand(node: Any) -> None:
    from engine.authoring.baseoperator import BaseOperator
    from engine.authoring.taskflow import XComArg
    from engine.authoring.taskgroup import TaskGroup

    if not isinstance(node, BaseOperator | XComArg | TaskGroup):
        raise TypeError(
            f"Cannot use edge labels with {type(node).__name__}, only tasks, XComArg or TaskGroups"
        )
