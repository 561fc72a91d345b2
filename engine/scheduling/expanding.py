"""Expanding a mapped task: its placeholder instance (``map_index`` -1) becomes instance 0
and instances 1..n-1 are inserted beside it, in one statement.

The length comes from the serialized spec (:mod:`engine.authoring.expansion`) and what
upstream workers recorded: a ``task_map`` row for an unmapped upstream, the number of
return values a mapped upstream's instances pushed. No user code runs here. A length
of 0 skips the placeholder; a length nobody recorded (the upstream pushed nothing to
map over) fails it as ``upstream_failed``. The tasks of a mapped task group are expanded
together (:func:`expand_group`), into instances that readiness then decides one map
index at a time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.expansion import expansion_length, upstream_task_ids
from engine.authoring.serialization import SerializedDAG
from engine.models import DagRun, TaskInstance, TaskMap, XCom
from engine.models.transitions import set_task_state
from engine.state import TaskInstanceState

logger = logging.getLogger(__name__)

TI = TaskInstanceState

RETURN_VALUE = "return_value"

INSERT_BATCH = 1000
"""Instances per INSERT statement (a thousand rows of a dozen columns stay under every
database's limit of bound parameters)."""

_COPIED = (
    "dag_run_id", "dag_id", "run_id", "task_id", "try_number", "max_tries", "priority_class",
    "priority_weight", "queue", "pool", "pool_slots", "operator",
)  # fmt: skip
"""What each new instance takes from the placeholder."""


@dataclass
class Expansion:
    state: TaskInstanceState
    """The placeholder's new state: ``scheduled`` (as instance 0), ``skipped`` or
    ``upstream_failed``."""
    created: list[tuple[int, int]]
    """The new instances' ids and map indexes, ``scheduled``."""


def upstream_lengths(
    *, session: Session, dag_run: DagRun, dag: SerializedDAG, task_ids: set[str]
) -> dict[str, int]:
    """The recorded lengths of the upstream values, by task id (absent: unknown)."""
    mapped = sorted(t for t in task_ids if t in dag.tasks and dag.tasks[t].mapped is not None)
    plain = sorted(task_ids - set(mapped))
    lengths: dict[str, int] = {}
    if plain:
        rows = session.execute(
            sa.select(TaskMap.task_id, TaskMap.length).where(
                TaskMap.dag_id == dag_run.dag_id,
                TaskMap.run_id == dag_run.run_id,
                TaskMap.task_id.in_(plain),
                TaskMap.map_index == -1,
            )
        )
        lengths.update({task_id: int(n) for task_id, n in rows})
    if mapped:
        rows = session.execute(
            sa.select(XCom.task_id, sa.func.count())
            .where(
                XCom.dag_id == dag_run.dag_id,
                XCom.run_id == dag_run.run_id,
                XCom.task_id.in_(mapped),
                XCom.key == RETURN_VALUE,
                XCom.map_index >= 0,
            )
            .group_by(XCom.task_id)
        )
        counts = {task_id: int(n) for task_id, n in rows}
        lengths.update({task_id: counts.get(task_id, 0) for task_id in mapped})
    return lengths


def expand_mapped(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    task_id: str,
    ti_id: int,
    try_number: int,
    now: datetime,
) -> Expansion | None:
    """Expand the placeholder ``ti_id`` (in ``none``); None when another process moved it."""
    spec = dag.tasks[task_id].mapped
    assert spec is not None
    lengths = upstream_lengths(
        session=session, dag_run=dag_run, dag=dag, task_ids=upstream_task_ids(spec)
    )
    length = expansion_length(spec, lengths.get)
    state = TI.UPSTREAM_FAILED if length is None else TI.SKIPPED if length == 0 else TI.SCHEDULED
    values: dict[str, Any] = (
        {"map_index": 0, "scheduled_at": now, "end_date": None}
        if state is TI.SCHEDULED
        else {"end_date": now}
    )
    won = set_task_state(
        session=session, ti_id=ti_id, expected=TI.NONE, new=state, try_number=try_number, **values
    )
    if not won:
        return None
    logger.info("mapped task %s of %s: %s instance(s)", task_id, dag_run.run_id, length)
    created = _insert_instances(session, ti_id, range(1, length or 0), now=now)
    return Expansion(state, created)


def expand_group(
    *, session: Session, dag_run: DagRun, dag: SerializedDAG, group_id: str, now: datetime
) -> int | None:
    """Expand every task of mapped group ``group_id`` still a placeholder: instances
    0..n-1 in ``none``, for readiness to decide one map index at a time (one INSERT per
    task). An empty expansion skips them, an unknown length fails them as
    ``upstream_failed``. Returns the length."""
    spec = dag.task_groups[group_id].mapped
    assert spec is not None
    lengths = upstream_lengths(
        session=session, dag_run=dag_run, dag=dag, task_ids=upstream_task_ids(spec)
    )
    length = expansion_length(spec, lengths.get)
    members = sorted(t for t, g in dag.mapped_groups.items() if g == group_id)
    placeholders = session.execute(
        sa.select(TaskInstance.id, TaskInstance.task_id, TaskInstance.try_number).where(
            TaskInstance.dag_run_id == dag_run.id,
            TaskInstance.task_id.in_(members),
            TaskInstance.map_index == -1,
            TaskInstance.state == TI.NONE,
        )
    ).all()
    for ti_id, _task_id, try_number in placeholders:
        if length:
            _expand_in_place(session, ti_id, length, now=now)
        else:
            state = TI.UPSTREAM_FAILED if length is None else TI.SKIPPED
            set_task_state(
                session=session, ti_id=ti_id, expected=TI.NONE, new=state,
                try_number=try_number, end_date=now,
            )  # fmt: skip
    logger.info("mapped group %s of %s: %s instance(s)", group_id, dag_run.run_id, length)
    return length


def _expand_in_place(session: Session, placeholder: int, length: int, *, now: datetime) -> None:
    """The placeholder becomes instance 0 (a compare-and-set on its map index, so that a
    second process expanding the group at once inserts nothing), then 1..n-1 beside it."""
    moved = session.execute(
        sa.update(TaskInstance)
        .where(
            TaskInstance.id == placeholder,
            TaskInstance.map_index == -1,
            TaskInstance.state == TI.NONE,
        )
        .values(map_index=0)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount == 1:  # type: ignore[attr-defined]
        _insert_instances(session, placeholder, range(1, length), now=now, state=TI.NONE)


def _insert_instances(
    session: Session,
    placeholder: int,
    indexes: range,
    *,
    now: datetime,
    state: TaskInstanceState = TI.SCHEDULED,
) -> list[tuple[int, int]]:
    if not indexes:
        return []
    columns = [getattr(TaskInstance, name) for name in _COPIED]
    row = session.execute(sa.select(*columns).where(TaskInstance.id == placeholder)).one()
    base = dict(zip(_COPIED, row, strict=True))
    created: list[tuple[int, int]] = []
    for start in range(indexes.start, indexes.stop, INSERT_BATCH):
        batch = range(start, min(start + INSERT_BATCH, indexes.stop))
        scheduled = {"scheduled_at": now} if state is TI.SCHEDULED else {}
        rows = [{**base, "map_index": i, "state": state, **scheduled} for i in batch]
        stmt = (
            sa.insert(TaskInstance).values(rows).returning(TaskInstance.id, TaskInstance.map_index)
        )
        created += [(ti_id, map_index) for ti_id, map_index in session.execute(stmt)]
    return created
