"""Branch choices as readiness reads them: the task ids each succeeded branch task chose,
by task and, for the tasks of a mapped task group, by map index."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.models import DagRun, XCom
from engine.state import TaskInstanceState

logger = logging.getLogger(__name__)

TI = TaskInstanceState

BRANCH_XCOM_KEY = "__branch__"
"""XCom key under which the runner stores a branch task's chosen task ids (a list)."""


@dataclass
class Choices:
    """What succeeded branch tasks chose: by task (for a task downstream of a mapped
    branch outside its group, the choice of the highest map index), and by instance."""

    whole: dict[str, frozenset[str]] = field(default_factory=dict)
    by_instance: dict[tuple[str, int], frozenset[str]] = field(default_factory=dict)

    def at(self, map_index: int, local: Collection[str]) -> dict[str, frozenset[str]]:
        """The choices instance ``map_index`` of a mapped group's task sees: its own
        index's for the ``local`` branches (those of its group), no other index's."""
        seen = {k: v for k, v in self.whole.items() if k not in local}
        for task_id in local:
            chosen = self.by_instance.get((task_id, map_index))
            if chosen is not None:
                seen[task_id] = chosen
        return seen


def branch_choices(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    states: Mapping[str, list[TaskInstanceState]],
) -> Choices:
    """Task ids each succeeded branch task chose; a branch without a choice restricts nothing."""
    branches = [
        task_id
        for task_id, task in dag.tasks.items()
        if task.is_branch and TI.SUCCESS in states.get(task_id, ())
    ]
    choices = Choices()
    if not branches:
        return choices
    rows = session.execute(
        sa.select(XCom.task_id, XCom.map_index, XCom.value)
        .where(
            XCom.dag_id == dag_run.dag_id,
            XCom.run_id == dag_run.run_id,
            XCom.key == BRANCH_XCOM_KEY,
            XCom.task_id.in_(branches),
        )
        .order_by(XCom.map_index)
    )
    for task_id, map_index, value in rows:
        if isinstance(value, list):
            chosen = frozenset(str(v) for v in value)
            choices.whole[task_id] = choices.by_instance[(task_id, map_index)] = chosen
        else:
            logger.warning("branch %s of %s: ignoring choice %r", task_id, dag_run.run_id, value)
    return choices
