"""A worker's try in as few round trips as PostgreSQL allows: SQLAlchemy Core statements.

* :func:`claim_statement`: the claim's compare-and-set ``queued → running`` on
  ``(state, try_number)``, the attempt row's upsert and the read of the run's graph
  identity, in ONE statement (data-modifying CTEs).
* :func:`success_statement`: the finish's compare-and-set ``running → success``, the
  attempt row's end and the XCom write (delete the keys this try did not push, upsert the
  ones it did), in ONE statement.

``updated_at`` is set explicitly: a column's ``onupdate`` default is not applied
inside a CTE. Every part after the compare-and-set reads the CTE of the updated row, so when the
compare-and-set loses (the row moved on) nothing else is written and no row comes back.
PostgreSQL only (data-modifying CTEs); other databases take the ORM path of
:mod:`engine.execution.outcomes`, which does the same in more statements. Nothing here
commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from engine.execution.outcomes import RESUME_CLEARED, AttemptDetails
from engine.models import DagRun, DagVersion, SerializedDag, TaskAttempt, TaskInstance, XCom
from engine.state import TaskInstanceState

TI = TaskInstanceState

_TI = cast(sa.Table, TaskInstance.__table__)
_ATTEMPT = cast(sa.Table, TaskAttempt.__table__)
_XCOM = cast(sa.Table, XCom.__table__)

CLAIMED_COLUMNS = (
    "id",
    "dag_run_id",
    "dag_id",
    "run_id",
    "task_id",
    "map_index",
    "try_number",
    "max_tries",
    "queued_at",
    "start_date",
    "first_poke_at",
    "poke_count",
    "next_method",
    "next_kwargs",
)
"""What the claim returns of the task instance (after the update)."""


def _lit(value: Any, column: sa.ColumnElement[Any]) -> sa.BindParameter[Any]:
    return sa.bindparam(None, value, type_=column.type)


def claim_statement(
    *, ti_id: int, try_number: int, now: datetime, hostname: str | None, pid: int | None
) -> sa.Select[Any]:
    """``queued → running`` at ``try_number`` + the attempt row started (created when
    absent; a rescheduled sensor's later poke keeps its first start) + the run's graph
    identity (as :func:`engine.services.dagversions.load_run_dags` reads it). One row when
    the claim won, none when it lost."""
    claimed = (
        sa.update(_TI)
        .where(_TI.c.id == ti_id, _TI.c.state == TI.QUEUED, _TI.c.try_number == try_number)
        .values(
            state=TI.RUNNING,
            hostname=hostname,
            pid=pid,
            start_date=now,
            last_heartbeat_at=now,
            end_date=None,
            duration=None,
            updated_at=now,
        )
        .returning(*(_TI.c[name] for name in CLAIMED_COLUMNS))
        .cte("claimed")
    )
    row = {
        "task_instance_id": claimed.c.id,
        "try_number": claimed.c.try_number,
        "state": _lit(TI.RUNNING.value, _ATTEMPT.c.state),
        "start_date": _lit(now, _ATTEMPT.c.start_date),
        "hostname": _lit(hostname, _ATTEMPT.c.hostname),
        "pid": _lit(pid, _ATTEMPT.c.pid),
        "log_truncated": _lit(False, _ATTEMPT.c.log_truncated),
        "log_start": _lit(0, _ATTEMPT.c.log_start),
        "rendered": _lit({}, _ATTEMPT.c.rendered),
    }
    insert = pg.insert(_ATTEMPT).from_select(list(row), sa.select(*row.values()))
    rescheduled = _ATTEMPT.c.state == TI.UP_FOR_RESCHEDULE.value  # its later poke: try goes on
    attempt = (
        insert.on_conflict_do_update(
            index_elements=["task_instance_id", "try_number"],
            set_={
                "state": insert.excluded.state,
                "hostname": insert.excluded.hostname,
                "pid": insert.excluded.pid,
                "start_date": sa.case(
                    (rescheduled, _ATTEMPT.c.start_date), else_=insert.excluded.start_date
                ),
            },
        )
        .returning(
            _ATTEMPT.c.task_instance_id,
            _ATTEMPT.c.log,
            _ATTEMPT.c.log_start,
            _ATTEMPT.c.log_truncated,
        )
        .cte("attempt")
    )
    run = cast(sa.Table, DagRun.__table__)
    version = cast(sa.Table, DagVersion.__table__)
    latest = cast(sa.Table, SerializedDag.__table__)
    return sa.select(
        claimed,
        attempt.c.log,
        attempt.c.log_start,
        attempt.c.log_truncated,
        run.c.dag_version_id,
        version.c.dag_hash.label("version_hash"),
        version.c.version_number,
        latest.c.dag_hash.label("latest_hash"),
        latest.c.fileloc,
    ).select_from(
        claimed.join(run, run.c.id == claimed.c.dag_run_id)
        .outerjoin(version, version.c.id == run.c.dag_version_id)
        .outerjoin(latest, latest.c.dag_id == claimed.c.dag_id)
        .outerjoin(attempt, attempt.c.task_instance_id == claimed.c.id)
    )


def success_statement(
    *,
    ti_id: int,
    try_number: int,
    now: datetime,
    duration: float | None,
    details: AttemptDetails,
    xcom_key: tuple[str, str, str, int],
    xcoms: Mapping[str, Any],
    resumed: bool,
) -> sa.Select[Any]:
    """``running → success`` at ``try_number`` + the attempt row ended with ``details`` +
    the instance's XComs replaced by ``xcoms`` (``resumed``: only the keys of ``xcoms``,
    what it pushed before its deferral stays). Returns ``(dag_run_id, attempts_ended)``
    when the compare-and-set won, no row when it lost."""
    moved = (
        sa.update(_TI)
        .where(_TI.c.id == ti_id, _TI.c.state == TI.RUNNING, _TI.c.try_number == try_number)
        .values(state=TI.SUCCESS, end_date=now, duration=duration, updated_at=now, **RESUME_CLEARED)
        .returning(_TI.c.id, _TI.c.dag_run_id, _TI.c.start_date, _TI.c.hostname, _TI.c.pid)
        .cte("moved")
    )
    ended = (
        sa.update(_ATTEMPT)
        .where(_ATTEMPT.c.task_instance_id == moved.c.id, _ATTEMPT.c.try_number == try_number)
        .values(
            state=TI.SUCCESS.value,
            end_date=now,
            log=details.log,
            log_truncated=details.log_truncated,
            log_start=details.log_start,
            rendered=details.rendered,
            error_type=None,
            error_message=None,
            traceback=None,
            start_date=sa.func.coalesce(_ATTEMPT.c.start_date, moved.c.start_date),
            hostname=sa.func.coalesce(_ATTEMPT.c.hostname, moved.c.hostname),
            pid=sa.case((_ATTEMPT.c.hostname.is_(None), moved.c.pid), else_=_ATTEMPT.c.pid),
        )
        .returning(_ATTEMPT.c.id)
        .cte("ended")
    )
    ctes = [_xcom_upsert(moved, xcom_key, xcoms, now)] if xcoms else []
    if not resumed:
        ctes.append(_xcom_delete_others(moved, xcom_key, xcoms))
    count = sa.select(sa.func.count()).select_from(ended).scalar_subquery()
    stmt = sa.select(moved.c.dag_run_id, count.label("attempts_ended")).select_from(moved)
    for cte in ctes:
        stmt = stmt.add_cte(cte)
    return stmt


def _xcom_upsert(
    moved: sa.CTE, key: tuple[str, str, str, int], xcoms: Mapping[str, Any], now: datetime
) -> sa.CTE:
    dag_id, run_id, task_id, map_index = key
    names = ["dag_id", "run_id", "task_id", "map_index", "key", "value", "created_at"]
    rows = [
        sa.select(
            _lit(dag_id, _XCOM.c.dag_id),
            _lit(run_id, _XCOM.c.run_id),
            _lit(task_id, _XCOM.c.task_id),
            _lit(map_index, _XCOM.c.map_index),
            _lit(name, _XCOM.c.key),
            _lit(value, _XCOM.c.value),
            _lit(now, _XCOM.c.created_at),
        ).select_from(moved)
        for name, value in xcoms.items()
    ]
    insert = pg.insert(_XCOM).from_select(names, sa.union_all(*rows) if len(rows) > 1 else rows[0])
    return insert.on_conflict_do_update(
        index_elements=["dag_id", "run_id", "task_id", "map_index", "key"],
        set_={"value": insert.excluded.value, "created_at": insert.excluded.created_at},
    ).cte("xcom_written")


def _xcom_delete_others(
    moved: sa.CTE, key: tuple[str, str, str, int], xcoms: Mapping[str, Any]
) -> sa.CTE:
    """An earlier try's values that this try did not push again (disjoint from the upsert's
    rows: two sub-statements of one statement must not touch the same row)."""
    dag_id, run_id, task_id, map_index = key
    stmt = sa.delete(_XCOM).where(
        _XCOM.c.dag_id == dag_id,
        _XCOM.c.run_id == run_id,
        _XCOM.c.task_id == task_id,
        _XCOM.c.map_index == map_index,
        sa.exists(sa.select(moved.c.id)),
    )
    if xcoms:
        stmt = stmt.where(_XCOM.c.key.not_in(list(xcoms)))
    return stmt.cte("xcom_cleared")
