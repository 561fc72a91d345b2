"""A wide fan-in's join, seen by the fast-follow of one of its upstream tasks' successes.

A worker's fast-follow decides the tasks right below the task it finished
(:func:`~engine.scheduling.readiness.decide_ready`). Below a join of more than
:data:`~engine.scheduling.readiness.MAX_LISTED_TASKS` upstream tasks, or of a mapped one,
that reads every upstream instance and settles them in Python: in a fan-out of 1,000
every leaf paid ~8 ms of CPU for it (quadratic in the width), to learn that the join
still waits.

Under a rule that waits for all of its upstream tasks (:data:`WAITS_FOR_ALL`), a success
changes the join's verdict only when it was the last upstream task to finish: its
early verdicts (``upstream_failed``, ``skipped``) follow a failure or a skip, never a
success, and are the scheduler's, woken by every finish that queues nothing. (A branch
task's success does skip what it did not choose at once: a join below one is left out.) So one
indexed query for an unfinished upstream instance answers for every leaf but the last.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Sequence
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.authoring.trigger_rules import TriggerRule
from engine.models import TaskInstance
from engine.scheduling.readiness import MAX_LISTED_TASKS
from engine.state import UNFINISHED

WAITS_FOR_ALL = frozenset(
    {
        TriggerRule.ALL_SUCCESS,
        TriggerRule.ALL_DONE,
        TriggerRule.ALL_DONE_MIN_ONE_SUCCESS,
        TriggerRule.ALL_DONE_SETUP_SUCCESS,
        TriggerRule.NONE_FAILED,
        TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
        TriggerRule.NONE_SKIPPED,
    }
)
"""Rules under which an upstream success can make a task run only once all its upstream
tasks are finished (what they decide earlier, they decide on a failure or a skip)."""


def still_waiting(
    *, session: Session, dag_run_id: int, dag: SerializedDAG, task_ids: Collection[str]
) -> set[str]:
    """Those of ``task_ids`` (tasks right below a success in run ``dag_run_id``) that
    surely still wait: a wide fan-in's join (:func:`is_wide_join`) under a
    :data:`WAITS_FOR_ALL` rule while one of its upstream instances is unfinished. One
    query per such join."""
    return {
        task_id
        for task_id in task_ids
        if is_wide_join(dag, task_id)
        and _any_unfinished(session, dag_run_id, dag.tasks[task_id].upstream_task_ids)
    }


def is_wide_join(dag: SerializedDAG, task_id: str) -> bool:
    """A join below many instances: more than :data:`MAX_LISTED_TASKS` upstream tasks, or
    a mapped one (an instance each, a thousand for a mapped fan-out); not itself mapped,
    and no branch task among them. Remembered per graph (every leaf of a fan-out asks
    about the same join, and the answer walks its upstream tasks)."""
    known = _known(dag)
    if task_id not in known:
        known[task_id] = _is_wide_join(dag, task_id)
    return known[task_id]


_memo: dict[int, tuple[weakref.ref[SerializedDAG], dict[str, bool]]] = {}


def _known(dag: SerializedDAG) -> dict[str, bool]:
    """The answers of :func:`is_wide_join` for ``dag``, kept while the graph lives (a
    worker keeps a DAG version's graph between tries)."""
    entry = _memo.get(id(dag))
    if entry is None or entry[0]() is not dag:
        key = id(dag)
        entry = (weakref.ref(dag, lambda _ref: _memo.pop(key, None)), {})
        _memo[key] = entry
    return entry[1]


def _is_wide_join(dag: SerializedDAG, task_id: str) -> bool:
    task = dag.tasks.get(task_id)
    if task is None or task.trigger_rule not in WAITS_FOR_ALL or task.mapped is not None:
        return False
    upstream = [dag.tasks[up] for up in task.upstream_task_ids if up in dag.tasks]
    if any(up.is_branch for up in upstream):
        return False  # a branch's success skips the tasks it did not choose, at once
    return len(upstream) > MAX_LISTED_TASKS or any(up.mapped is not None for up in upstream)


def _any_unfinished(session: Session, dag_run_id: int, upstream: Sequence[str]) -> bool:
    postgresql = session.get_bind().dialect.name == "postgresql"
    joined = ",".join(upstream)
    if joined.count(",") != len(upstream) - 1:  # a comma in a task id: not one of Loom's
        postgresql = False
    names: str | list[str] = joined if postgresql else list(upstream)
    found = session.connection().execute(  # Core: no ORM objects wanted
        _unfinished_statement(postgresql), {"dag_run_id": dag_run_id, "task_ids": names}
    )
    return found.first() is not None


@cache
def _unfinished_statement(postgresql: bool) -> sa.Select[int]:
    """An unfinished instance of the run among the named tasks: built once per process.
    On PostgreSQL the names are one comma-joined parameter that the server splits (a
    list of hundreds of bound names, or an array of them, costs the worker more to send
    than the query takes; task ids hold no comma, :data:`~engine.authoring.dag.ID_PATTERN`),
    an ``IN`` list elsewhere."""
    if postgresql:
        names = sa.func.string_to_array(sa.bindparam("task_ids", type_=sa.Text), ",")
        among = TaskInstance.task_id == sa.any_(names)
    else:
        among = TaskInstance.task_id.in_(sa.bindparam("task_ids", expanding=True))
    return (
        sa.select(TaskInstance.id)
        .where(
            TaskInstance.dag_run_id == sa.bindparam("dag_run_id"),
            TaskInstance.state.in_(sorted(UNFINISHED)),
            among,
        )
        .limit(1)
    )
