"""A worker's try in as few round trips as PostgreSQL allows: SQLAlchemy Core statements.

* :func:`claim_statement`: the claim's compare-and-set ``queued → running`` on
  ``(state, try_number)``, the attempt row's upsert and the read of the run's graph
  identity, in ONE statement (data-modifying CTEs).
* :func:`success_statement`: the finish's compare-and-set ``running → success``, the
  attempt row's end and the XCom write (delete the keys this try did not push, upsert the
  ones it did), in ONE statement.

Each statement is built once per process (and shape) with named parameters, and each try
only binds its values: building a statement of CTEs costs more CPU than its round trip.
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
from functools import cache
from typing import Any, cast

import sqlalchemy as sa

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


def _param(name: str, column: sa.ColumnElement[Any]) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=column.type)


Statement = tuple[sa.Select[Any], dict[str, Any]]
"""A statement and the values of its parameters, for ``connection.execute(*statement)``."""


def claim_statement(
    *, ti_id: int, try_number: int, now: datetime, hostname: str | None, pid: int | None
) -> Statement:
    """``queued → running`` at ``try_number`` + the attempt row started (created when
    absent; a rescheduled sensor's later poke keeps its first start) + the run's graph
    identity (as :func:`engine.services.dagversions.load_run_dags` reads it). One row when
    the claim won, none when it lost."""
    params = {"ti_id": ti_id, "expected_try": try_number, "now": now}
    return _claim(), {**params, "hostname": hostname, "pid": pid}


def _compare_and_set(expected: TaskInstanceState) -> sa.Update:
    """``UPDATE task_instance`` of the try ``:ti_id``/``:expected_try`` if still ``expected``."""
    return sa.update(_TI).where(
        _TI.c.id == _param("ti_id", _TI.c.id),
        _TI.c.state == expected,
        _TI.c.try_number == _param("expected_try", _TI.c.try_number),
    )


@cache
def _claim() -> sa.Select[Any]:
    from sqlalchemy.dialects import postgresql as pg  # loaded only where it is used

    now = _param("now", _TI.c.start_date)
    claimed = (
        _compare_and_set(TI.QUEUED)
        .values(
            state=TI.RUNNING,
            hostname=_param("hostname", _TI.c.hostname),
            pid=_param("pid", _TI.c.pid),
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
        "state": sa.literal(TI.RUNNING.value, _ATTEMPT.c.state.type),
        "start_date": _param("now", _ATTEMPT.c.start_date),
        "hostname": _param("hostname", _ATTEMPT.c.hostname),
        "pid": _param("pid", _ATTEMPT.c.pid),
        "log_truncated": sa.literal(False, _ATTEMPT.c.log_truncated.type),
        "log_start": sa.literal(0, _ATTEMPT.c.log_start.type),
        "rendered": sa.literal({}, _ATTEMPT.c.rendered.type),
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
) -> Statement:
    """``running → success`` at ``try_number`` + the attempt row ended with ``details`` +
    the instance's XComs replaced by ``xcoms`` (``resumed``: only the keys of ``xcoms``,
    what it pushed before its deferral stays). Returns ``(dag_run_id, attempts_ended)``
    when the compare-and-set won, no row when it lost."""
    dag_id, run_id, task_id, map_index = xcom_key
    params: dict[str, Any] = {
        "ti_id": ti_id,
        "expected_try": try_number,
        "now": now,
        "duration": duration,
        "log": details.log,
        "log_truncated": details.log_truncated,
        "log_start": details.log_start,
        "rendered": details.rendered,
        "x_dag_id": dag_id,
        "x_run_id": run_id,
        "x_task_id": task_id,
        "x_map_index": map_index,
        "x_keys": list(xcoms),
    }
    for number, (key, value) in enumerate(xcoms.items()):
        params[f"x_key_{number}"], params[f"x_value_{number}"] = key, value
    return _success(len(xcoms), resumed), params


@cache
def _success(pushed: int, resumed: bool) -> sa.Select[Any]:
    """The statement for a try that pushed ``pushed`` XComs."""
    now = _param("now", _TI.c.end_date)
    moved = (
        _compare_and_set(TI.RUNNING)
        .values(
            state=TI.SUCCESS,
            end_date=now,
            duration=_param("duration", _TI.c.duration),
            updated_at=now,
            **RESUME_CLEARED,
        )
        .returning(_TI.c.id, _TI.c.dag_run_id, _TI.c.start_date, _TI.c.hostname, _TI.c.pid)
        .cte("moved")
    )
    ended = (
        sa.update(_ATTEMPT)
        .where(
            _ATTEMPT.c.task_instance_id == moved.c.id,
            _ATTEMPT.c.try_number == _param("expected_try", _ATTEMPT.c.try_number),
        )
        .values(
            state=TI.SUCCESS.value,
            end_date=_param("now", _ATTEMPT.c.end_date),
            log=_param("log", _ATTEMPT.c.log),
            log_truncated=_param("log_truncated", _ATTEMPT.c.log_truncated),
            log_start=_param("log_start", _ATTEMPT.c.log_start),
            rendered=_param("rendered", _ATTEMPT.c.rendered),
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
    ctes = [_xcom_upsert(moved, pushed)] if pushed else []
    if not resumed:
        ctes.append(_xcom_delete_others(moved, pushed))
    count = sa.select(sa.func.count()).select_from(ended).scalar_subquery()
    stmt = sa.select(moved.c.dag_run_id, count.label("attempts_ended")).select_from(moved)
    for cte in ctes:
        stmt = stmt.add_cte(cte)
    return stmt


def _instance() -> list[sa.BindParameter[Any]]:
    return [
        _param("x_dag_id", _XCOM.c.dag_id),
        _param("x_run_id", _XCOM.c.run_id),
        _param("x_task_id", _XCOM.c.task_id),
        _param("x_map_index", _XCOM.c.map_index),
    ]


def _xcom_upsert(moved: sa.CTE, pushed: int) -> sa.CTE:
    from sqlalchemy.dialects import postgresql as pg  # loaded only where it is used

    names = ["dag_id", "run_id", "task_id", "map_index", "key", "value", "created_at"]
    rows = [
        sa.select(
            *_instance(),
            _param(f"x_key_{number}", _XCOM.c.key),
            _param(f"x_value_{number}", _XCOM.c.value),
            _param("now", _XCOM.c.created_at),
        ).select_from(moved)
        for number in range(pushed)
    ]
    insert = pg.insert(_XCOM).from_select(names, sa.union_all(*rows) if pushed > 1 else rows[0])
    return insert.on_conflict_do_update(
        index_elements=["dag_id", "run_id", "task_id", "map_index", "key"],
        set_={"value": insert.excluded.value, "created_at": insert.excluded.created_at},
    ).cte("xcom_written")


def _xcom_delete_others(moved: sa.CTE, pushed: int) -> sa.CTE:
    """An earlier try's values that this try did not push again (disjoint from the upsert's
    rows: two sub-statements of one statement must not touch the same row)."""
    dag_id, run_id, task_id, map_index = _instance()
    stmt = sa.delete(_XCOM).where(
        _XCOM.c.dag_id == dag_id,
        _XCOM.c.run_id == run_id,
        _XCOM.c.task_id == task_id,
        _XCOM.c.map_index == map_index,
        sa.exists(sa.select(moved.c.id)),
    )
    if pushed:
        stmt = stmt.where(_XCOM.c.key.not_in(sa.bindparam("x_keys", expanding=True)))
    return stmt.cte("xcom_cleared")
