"""``>>`` and ``<<`` for everything that takes part in dependencies: tasks, task groups
and edge labels, each defining ``set_upstream`` and ``set_downstream``."""

from __future__ import annotations

from typing import Any, Self


class DependencyMixin:
    """``a >> b`` is ``a.set_downstream(b)`` and gives ``b``, so chains read left to
    right; ``[a, b] >> c`` reaches ``c.__rrshift__`` and gives ``c``."""

    def set_upstream(self, other: Any, edge_modifier: Any = None) -> None:
        raise NotImplementedError

    def set_downstream(self, other: Any, edge_modifier: Any = None) -> None:
        raise NotImplementedError

    def __rshift__(self, other: Any) -> Any:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: Any) -> Any:
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: Any) -> Self:
        self.set_upstream(other)
        return self

    def __rlshift__(self, other: Any) -> Self:
        self.set_downstream(other)
        return self
