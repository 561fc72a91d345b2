"""Readiness: which task instances of a run may run now, by trigger rule and branch.

:func:`decide_ready` walks a run's tasks in dependency order, so one call settles a whole
cascade (a failure turns every ``all_success`` task below it to ``upstream_failed``).
Runnable instances move ``none → scheduled``; ``scheduled`` means "ready, waiting for a
slot" (:mod:`engine.scheduling.submission` queues them). Every move is a compare-and-set,
so the scheduler and a worker's fast-follow may decide the same run at once.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import DagRun, TaskInstance, XCom
from engine.serialization import SerializedDAG, SerializedTask
from engine.state import TaskInstanceState
from engine.transitions import set_task_state
from engine.trigger_rules import READINESS_STATE, Readiness, UpstreamSummary, evaluate

logger = logging.getLogger(__name__)

TI = TaskInstanceState

BRANCH_XCOM_KEY = "__branch__"
"""XCom key under which the runner stores a branch task's chosen task ids (a list)."""


def decide_ready(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    task_ids: Iterable[str] | None = None,
    now: datetime,
) -> list[TaskInstance]:
    """Apply trigger rules and branch choices to the run's instances in ``none``.

    Ruled-out instances become ``skipped`` or ``upstream_failed``; runnable ones become
    ``scheduled``. Returns every ``scheduled`` instance of the run (limited to
    ``task_ids`` when given): those that became ready now and those still waiting for
    a slot (or a retry that came due).
    """
    wanted = set(task_ids) if task_ids is not None else None
    tis = {ti.task_id: ti for ti in _instances(session=session, dag_run=dag_run, wanted=wanted)}
    states = task_states(session=session, dag_run=dag_run) if wanted is not None else {}
    states.update({task_id: ti.state for task_id, ti in tis.items()})
    choices = _branch_choices(session=session, dag_run=dag_run, dag=dag, states=states)
    for task_id in topological_order(dag):
        ti = tis.get(task_id)
        if ti is None or ti.state is not TI.NONE or (wanted is not None and task_id not in wanted):
            continue
        verdict = _verdict(dag.tasks[task_id], states, choices)
        if verdict is not Readiness.WAIT and _apply(verdict, ti, session=session, now=now):
            states[task_id] = ti.state
    return [
        ti
        for task_id, ti in tis.items()
        if ti.state is TI.SCHEDULED and (wanted is None or task_id in wanted)
    ]


def _instances(*, session: Session, dag_run: DagRun, wanted: set[str] | None) -> list[TaskInstance]:
    """The run's instances as objects; for a fast-follow (``wanted``), only those.

    A worker finishing one of a thousand parallel tasks decides only its downstream
    task; building a thousand objects for that made a fan-out quadratic.
    """
    stmt = sa.select(TaskInstance).where(TaskInstance.dag_run_id == dag_run.id)
    if wanted is not None:
        stmt = stmt.where(TaskInstance.task_id.in_(sorted(wanted)))
    return list(session.scalars(stmt.execution_options(populate_existing=True)))


def task_states(*, session: Session, dag_run: DagRun) -> dict[str, TaskInstanceState]:
    """Every instance's state as plain rows: what trigger rules need of the upstream tasks."""
    rows = session.execute(
        sa.select(TaskInstance.task_id, TaskInstance.state).where(
            TaskInstance.dag_run_id == dag_run.id
        )
    )
    return {str(task_id): TaskInstanceState(state) for task_id, state in rows}


def _verdict(
    task: SerializedTask,
    states: Mapping[str, TaskInstanceState],
    choices: Mapping[str, frozenset[str]],
) -> Readiness:
    upstream = [up for up in task.upstream_task_ids if up in states]
    for up in upstream:
        chosen = choices.get(up)
        if chosen is not None and task.task_id not in chosen:
            return Readiness.SKIP
    return evaluate(task.trigger_rule, UpstreamSummary.of(states[up] for up in upstream))


def _apply(verdict: Readiness, ti: TaskInstance, *, session: Session, now: datetime) -> bool:
    run = verdict is Readiness.RUN
    won = set_task_state(
        session=session,
        ti_id=ti.id,
        expected=TI.NONE,
        new=TI.SCHEDULED if run else READINESS_STATE[verdict],
        try_number=ti.try_number,
        scheduled_at=now if run else ti.scheduled_at,
        end_date=None if run else now,
    )
    if won:
        session.refresh(ti)
    return won


def _branch_choices(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    states: Mapping[str, TaskInstanceState],
) -> dict[str, frozenset[str]]:
    """Task ids each succeeded branch task chose; a branch without a choice restricts nothing."""
    branches = [
        task_id
        for task_id, task in dag.tasks.items()
        if task.is_branch and states.get(task_id) is TI.SUCCESS
    ]
    if not branches:
        return {}
    rows = session.execute(
        sa.select(XCom.task_id, XCom.value).where(
            XCom.dag_id == dag_run.dag_id,
            XCom.run_id == dag_run.run_id,
            XCom.key == BRANCH_XCOM_KEY,
            XCom.task_id.in_(branches),
        )
    )
    choices: dict[str, frozenset[str]] = {}
    for task_id, value in rows:
        if isinstance(value, list):
            choices[task_id] = frozenset(str(v) for v in value)
        else:
            logger.warning("branch %s of %s: ignoring choice %r", task_id, dag_run.run_id, value)
    return choices


def topological_order(dag: SerializedDAG) -> list[str]:
    """Task ids, each after all of its upstream tasks (ties by task id)."""
    pending = {task_id: len(task.upstream_task_ids) for task_id, task in dag.tasks.items()}
    ready = [task_id for task_id, count in pending.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        task_id = heapq.heappop(ready)
        order.append(task_id)
        for child in dag.tasks[task_id].downstream_task_ids:
            if child in pending:
                pending[child] -= 1
                if pending[child] == 0:
                    heapq.heappush(ready, child)
    return order
