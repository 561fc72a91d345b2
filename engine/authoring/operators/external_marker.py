"""ExternalTaskMarker: a task that says "clearing me clears that task of another DAG too".

It runs no code (the scheduler finishes it, as any EmptyOperator). Its meaning shows when
a person clears it, or a task upstream of it, with downstream: the task
``external_task_id`` of ``external_dag_id``'s run at ``logical_date`` (by default this
run's own logical date) is cleared with its downstream as well, following further markers
there, at most ``recursion_depth`` DAGs deep (see :mod:`engine.services.markers`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from engine.authoring.operators.empty import EmptyOperator

DEFAULT_LOGICAL_DATE = "{{ logical_date.isoformat() }}"
DEFAULT_RECURSION_DEPTH = 10


class ExternalTaskMarker(EmptyOperator):
    """Mark ``external_dag_id``.``external_task_id`` as depending on this task."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "external_dag_id",
        "external_task_id",
        "logical_date",
    )

    def __init__(
        self,
        task_id: str,
        *,
        external_dag_id: str,
        external_task_id: str,
        logical_date: str = DEFAULT_LOGICAL_DATE,
        recursion_depth: int = DEFAULT_RECURSION_DEPTH,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.logical_date = logical_date
        self.recursion_depth = recursion_depth
        if not isinstance(logical_date, str):
            self.problems.append(
                "logical_date must be a template string such as "
                f"{DEFAULT_LOGICAL_DATE!r}, not {type(logical_date).__name__}"
            )
        if isinstance(recursion_depth, bool) or not isinstance(recursion_depth, int):
            self.problems.append("recursion_depth must be a whole number")
        elif recursion_depth <= 0:
            self.problems.append(f"recursion_depth must be above 0, not {recursion_depth}")

    def serialize_fields(self) -> dict[str, Any]:
        return {**super().serialize_fields(), "recursion_depth": self.recursion_depth}
