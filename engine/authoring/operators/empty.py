"""EmptyOperator: a task that does nothing, for grouping and joins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.authoring.baseoperator import BaseOperator


class EmptyOperator(BaseOperator):
    """Does nothing and succeeds; useful as a start, a join or a placeholder."""

    def execute(self, context: Mapping[str, Any]) -> None:
        return None
