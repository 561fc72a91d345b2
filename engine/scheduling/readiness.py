"""Readiness: which task instances of a run may run now, by trigger rule and branch.

:func:`settle` walks a run's tasks in dependency order, so one call settles a whole
cascade (a failure turns every ``all_success`` task below it to ``upstream_failed``). The
scheduler settles every running run from rows read in one query (:func:`instance_rows`);
a worker's fast-follow settles the tasks right below the one it finished
(:func:`decide_ready`).
Runnable instances move ``none → scheduled``; ``scheduled`` means "ready, waiting for a
slot" (:mod:`engine.scheduling.submission` queues them). Every move is a compare-and-set,
so the scheduler and a worker's fast-follow may decide the same run at once.
"""

from __future__ import annotations

import logging
from collections import ChainMap
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.expansion import upstream_task_ids
from engine.authoring.serialization import SerializedDAG, SerializedTask
from engine.authoring.trigger_rules import (
    READINESS_STATE,
    SETUP_RULES,
    Readiness,
    TriggerRule,
    UpstreamSummary,
    evaluate,
    setup_ids,
)
from engine.models import DagRun, TaskInstance
from engine.models.transitions import set_task_state, set_task_states
from engine.scheduling.branching import BRANCH_XCOM_KEY, Choices, branch_choices
from engine.scheduling.expanding import expand_group, expand_mapped
from engine.scheduling.pastdeps import blocked_by_past
from engine.scheduling.submission import Waiting
from engine.state import FINISHED, TaskInstanceState, summary_state

logger = logging.getLogger(__name__)

__all__ = ["BRANCH_XCOM_KEY", "decide_ready", "instance_rows", "settle", "task_states"]

TI = TaskInstanceState

MAX_LISTED_TASKS = 64
"""Beyond this many task ids, reading the whole run beats binding a long ``IN`` list."""


@dataclass
class InstanceRow:
    """What readiness needs of a task instance. Plain rows, not ORM objects: a tick reads
    every instance of every running run, and building thousands of objects dominated it."""

    id: int
    task_id: str
    state: TaskInstanceState
    try_number: int
    map_index: int = -1


RunRows = dict[str, list[InstanceRow]]
"""A run's instances by task id (several for a mapped task, by ``map_index``)."""


def task_states(rows: RunRows) -> dict[str, TaskInstanceState]:
    """One state per task: a mapped task's is that of an unfinished instance while any
    is, else a failed one's, else a succeeded one's (else its first instance's)."""
    return {task_id: summary_state(row.state for row in group) for task_id, group in rows.items()}


def instance_rows(
    *, session: Session, run_ids: Collection[int], task_ids: Collection[str] | None = None
) -> dict[int, RunRows]:
    """The instances of the runs ``run_ids`` (primary keys), one query for all of them;
    only those of ``task_ids`` when given."""
    by_run: dict[int, RunRows] = {run_id: {} for run_id in run_ids}
    if not by_run:
        return by_run
    stmt = sa.select(
        TaskInstance.id,
        TaskInstance.dag_run_id,
        TaskInstance.task_id,
        TaskInstance.state,
        TaskInstance.try_number,
        TaskInstance.map_index,
    ).where(TaskInstance.dag_run_id.in_(sorted(by_run)))
    if task_ids is not None:
        stmt = stmt.where(TaskInstance.task_id.in_(sorted(task_ids)))
    rows = session.execute(stmt)
    for ti_id, run_id, task_id, state, try_number, map_index in rows.all():
        row = InstanceRow(ti_id, task_id, state, try_number, map_index)
        by_run[run_id].setdefault(task_id, []).append(row)
    for run_rows in by_run.values():
        for group in run_rows.values():
            group.sort(key=lambda row: row.map_index)
    return by_run


def settle(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    rows: RunRows,
    now: datetime,
    only: Collection[str] | None = None,
) -> list[InstanceRow]:
    """Apply trigger rules and branch choices to the run's instances in ``none``.

    Ruled-out instances become ``skipped`` or ``upstream_failed``; runnable ones become
    ``scheduled`` unless their previous run holds them (:mod:`engine.scheduling.pastdeps`).
    Considers every waiting instance, or those of ``only``; ``rows`` is updated in place.
    Returns the rows this call moved to ``scheduled``.
    """
    waiting = [
        task_id
        for task_id in dag.order
        if task_id in rows
        and any(row.state is TI.NONE for row in rows[task_id])
        and (only is None or task_id in only)
    ]
    if not waiting:
        return []
    states = {task_id: [row.state for row in group] for task_id, group in rows.items()}
    choices = branch_choices(session=session, dag_run=dag_run, dag=dag, states=states)
    past = blocked_by_past(session=session, dag_run=dag_run, dag=dag, task_ids=waiting)
    scheduled: list[InstanceRow] = []
    runnable: list[InstanceRow] = []  # ``none → scheduled`` of them all in one statement
    for task_id in waiting:
        task = dag.tasks[task_id]
        if task_id in dag.mapped_groups:
            scheduled += _settle_in_group(
                task, session=session, dag_run=dag_run, dag=dag, rows=rows, states=states,
                choices=choices, held=task_id in past, now=now,
            )  # fmt: skip
            continue
        verdict = _verdict(dag, task, states, choices.whole)
        if verdict is Readiness.WAIT:
            continue
        if verdict is Readiness.RUN and task_id in past:
            continue  # waits in ``none`` for its previous run
        group = rows[task_id]
        if verdict is Readiness.RUN and is_placeholder(task, group):
            scheduled += _expand(group, session=session, dag_run=dag_run, dag=dag, now=now)
        elif verdict is Readiness.RUN:
            # Counted as ``scheduled`` by the verdicts below it until the statement says
            # otherwise (a verdict tells ``none`` and ``scheduled`` apart nowhere).
            for row in group:
                if row.state is TI.NONE:
                    row.state = TI.SCHEDULED
                    runnable.append(row)
        else:
            for row in group:
                if row.state is TI.NONE:
                    _apply(verdict, row, session=session, now=now)
        states[task_id] = [row.state for row in rows[task_id]]
    return scheduled + _schedule(runnable, session=session, now=now)


def decide_ready(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    task_ids: Iterable[str],
    now: datetime,
) -> list[Waiting]:
    """Settle the run's instances of ``task_ids``; return those of them now ``scheduled``
    (just decided, or still waiting for a slot), ready for
    :func:`~engine.scheduling.submission.queue_ready`. A worker's fast-follow uses it."""
    wanted = set(task_ids)
    # The wanted tasks and their upstream tasks are all a verdict reads: a chain's
    # fast-follow reads two rows, not the whole run.
    needed = wanted.union(*(dag.tasks[t].upstream_task_ids for t in wanted if t in dag.tasks))
    # A task of a mapped group may expand the group: the values it expands over.
    needed |= set().union(*(_group_inputs(dag, t) for t in wanted if t in dag.tasks))
    setups = dag.setups_and_teardowns
    needed |= set().union(*(setups.indirect_setups(t) for t in wanted if t in dag.tasks))
    subset = needed if len(needed) <= MAX_LISTED_TASKS else None
    if subset is None or any(_mapped(dag, t) for t in wanted):
        rows = instance_rows(session=session, run_ids=[dag_run.id], task_ids=subset)[dag_run.id]
        settle(session=session, dag_run=dag_run, dag=dag, rows=rows, now=now, only=wanted)
        return _reread_scheduled(session, rows, wanted)
    # The common case (no mapped task decided): the rows' submission columns are read
    # with them, so the ready ones need no second read.
    rows, waiting = _rows_with_waiting(session, dag_run.id, subset)
    before = {row.id: row.state for group in rows.values() for row in group}
    settle(session=session, dag_run=dag_run, dag=dag, rows=rows, now=now, only=wanted)
    ready = []
    for task_id in sorted(wanted & rows.keys()):
        for row in rows[task_id]:
            if row.state is not TI.SCHEDULED:
                continue
            found = waiting[row.id]
            decided = before[row.id] is not TI.SCHEDULED  # moved by this call: at ``now``
            ready.append(replace(found, scheduled_at=now) if decided else found)
    return sorted(ready, key=lambda ti: ti.id)


def _mapped(dag: SerializedDAG, task_id: str) -> bool:
    task = dag.tasks.get(task_id)
    return task is not None and (task.mapped is not None or task_id in dag.mapped_groups)


def _rows_with_waiting(
    session: Session, dag_run_id: int, task_ids: Collection[str]
) -> tuple[RunRows, dict[int, Waiting]]:
    """:func:`instance_rows` of one run's ``task_ids``, and each row as :class:`Waiting`."""
    stmt = sa.select(TaskInstance.state, TaskInstance.map_index, *Waiting.columns()).where(
        TaskInstance.dag_run_id == dag_run_id, TaskInstance.task_id.in_(sorted(task_ids))
    )
    rows: RunRows = {}
    waiting: dict[int, Waiting] = {}
    for state, map_index, *columns in session.execute(stmt).all():
        found = Waiting(*columns)
        waiting[found.id] = found
        row = InstanceRow(found.id, found.task_id, state, found.try_number, map_index)
        rows.setdefault(found.task_id, []).append(row)
    for group in rows.values():
        group.sort(key=lambda row: row.map_index)
    return rows, waiting


def _reread_scheduled(session: Session, rows: RunRows, wanted: set[str]) -> list[Waiting]:
    ids = [
        row.id
        for task_id, group in rows.items()
        if task_id in wanted
        for row in group
        if row.state is TI.SCHEDULED
    ]
    if not ids:
        return []
    stmt = sa.select(*Waiting.columns()).where(TaskInstance.id.in_(ids)).order_by(TaskInstance.id)
    return [Waiting(*row) for row in session.execute(stmt)]


def _verdict(
    dag: SerializedDAG,
    task: SerializedTask,
    states: Mapping[str, list[TaskInstanceState]],
    choices: Mapping[str, frozenset[str]],
) -> Readiness:
    upstream = [up for up in task.upstream_task_ids if up in states]
    if not any(state in FINISHED for up in upstream for state in states[up]):
        # Nothing upstream has finished: every rule but ``always`` waits. The common case
        # of a busy run, answered without counting.
        return (
            Readiness.RUN
            if task.trigger_rule is TriggerRule.ALWAYS or not upstream
            else Readiness.WAIT
        )
    for up in upstream:
        chosen = choices.get(up)
        if chosen is not None and task.task_id not in chosen:
            return Readiness.SKIP
    by_setups = dag.setups_and_teardowns.verdict(task.task_id, _Summaries(states))
    if by_setups is not None:
        return by_setups
    # Per instance: a mapped upstream counts once for each of its instances.
    setups = setup_ids(dag.tasks, upstream) if task.trigger_rule in SETUP_RULES else ()
    summary = UpstreamSummary.of(
        (state for up in upstream for state in states[up]),
        (state for up in setups for state in states[up]),
    )
    return evaluate(task.trigger_rule, summary)


class _Summaries(Mapping[str, TaskInstanceState]):
    """Each task's one state (a mapped task's summed up), computed when asked for."""

    def __init__(self, states: Mapping[str, list[TaskInstanceState]]) -> None:
        self.states = states

    def __getitem__(self, task_id: str) -> TaskInstanceState:
        return summary_state(self.states[task_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self.states)

    def __len__(self) -> int:
        return len(self.states)


def _settle_in_group(
    task: SerializedTask,
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    rows: RunRows,
    states: dict[str, list[TaskInstanceState]],
    choices: Choices,
    held: bool,
    now: datetime,
) -> list[InstanceRow]:
    """Settle a task of a mapped group ("depth-first"). While it is a placeholder, it is
    decided whole; the first of the group's tasks that may run expands the whole group.
    Then each instance ``i`` is decided by instance ``i`` of the group's tasks upstream of
    it, and by every instance of the tasks outside the group."""
    group_id = dag.mapped_groups[task.task_id]
    group = rows[task.task_id]
    if is_placeholder(task, group):
        verdict = _verdict(dag, task, states, choices.whole)
        if verdict is Readiness.WAIT or (verdict is Readiness.RUN and held):
            return []
        if verdict is not Readiness.RUN:
            _apply(verdict, group[0], session=session, now=now)
            states[task.task_id] = [group[0].state]
            return []
        if not all(
            all(s in FINISHED for s in states.get(t, [TI.NONE]))
            for t in _group_inputs(dag, task.task_id)
        ):
            return []  # its length is not known yet
        expand_group(session=session, dag_run=dag_run, dag=dag, group_id=group_id, now=now)
        _reread_group(rows, states, session=session, dag_run=dag_run, dag=dag, group_id=group_id)
        group = rows[task.task_id]
    local = [up for up in task.upstream_task_ids if dag.mapped_groups.get(up) == group_id]
    by_index = {up: {row.map_index: row for row in rows.get(up, [])} for up in local}
    scheduled: list[InstanceRow] = []
    for row in group:
        if row.state is not TI.NONE or row.map_index < 0:
            continue
        own = {u: [by_index[u][row.map_index].state] for u in local if row.map_index in by_index[u]}
        verdict = _verdict(dag, task, ChainMap(own, states), choices.at(row.map_index, own))
        if verdict is Readiness.WAIT or (verdict is Readiness.RUN and held):
            continue
        if _apply(verdict, row, session=session, now=now) and verdict is Readiness.RUN:
            scheduled.append(row)
    states[task.task_id] = [row.state for row in group]
    return scheduled


def _group_inputs(dag: SerializedDAG, task_id: str) -> set[str]:
    """The tasks whose values the mapped group of ``task_id`` expands over."""
    group_id = dag.mapped_groups.get(task_id)
    if group_id is None:
        return set()
    spec = dag.task_groups[group_id].mapped
    return upstream_task_ids(spec) if spec is not None else set()


def _reread_group(
    rows: RunRows,
    states: dict[str, list[TaskInstanceState]],
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    group_id: str,
) -> None:
    members = {t for t, g in dag.mapped_groups.items() if g == group_id}
    fresh = instance_rows(session=session, run_ids=[dag_run.id], task_ids=members)[dag_run.id]
    rows.update(fresh)
    states.update({task_id: [row.state for row in group] for task_id, group in fresh.items()})


def is_placeholder(task: SerializedTask, group: list[InstanceRow]) -> bool:
    """Whether ``group`` is a mapped task's one not yet expanded instance."""
    return task.mapped is not None and len(group) == 1 and group[0].map_index == -1


def _expand(
    group: list[InstanceRow],
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    now: datetime,
) -> list[InstanceRow]:
    """Expand a mapped task's placeholder; returns its instances now ``scheduled``."""
    row = group[0]
    expansion = expand_mapped(
        session=session, dag_run=dag_run, dag=dag, task_id=row.task_id, ti_id=row.id,
        try_number=row.try_number, now=now,
    )  # fmt: skip
    if expansion is None:
        return []
    row.state = expansion.state
    if expansion.state is not TI.SCHEDULED:
        return []
    row.map_index = 0
    created = [
        InstanceRow(ti_id, row.task_id, TI.SCHEDULED, row.try_number, map_index)
        for ti_id, map_index in expansion.created
    ]
    group.extend(created)
    return [row, *created]


def _schedule(rows: list[InstanceRow], *, session: Session, now: datetime) -> list[InstanceRow]:
    """``none → scheduled`` of ``rows`` (their state already set to ``scheduled`` here) in
    one compare-and-set statement: a fan-out's thousand instances are one round trip. The
    rows another process moved first go back to ``none`` here; returns the others."""
    if not rows:
        return []
    won = set_task_states(
        session=session, moves=[(row.id, row.try_number) for row in rows],
        expected=TI.NONE, new=TI.SCHEDULED, scheduled_at=now, end_date=None,
    )  # fmt: skip
    for row in rows:
        if row.id not in won:
            row.state = TI.NONE
    return [row for row in rows if row.id in won]


def _apply(verdict: Readiness, row: InstanceRow, *, session: Session, now: datetime) -> bool:
    run = verdict is Readiness.RUN
    new = TI.SCHEDULED if run else READINESS_STATE[verdict]
    moved = {"scheduled_at": now, "end_date": None} if run else {"end_date": now}
    won = set_task_state(
        session=session,
        ti_id=row.id,
        expected=TI.NONE,
        new=new,
        try_number=row.try_number,
        **moved,
    )
    if won:
        row.state = new
    return won
