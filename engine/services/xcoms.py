"""The XComs a task instance published: listing them (filtered, for a caller to page)
and reading one by key.

Every function that takes ``session`` never commits; the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import NotFoundError
from engine.models import TaskInstance, XCom
from engine.services.pagination import order_columns

XCOM_ORDER = order_columns(XCom.key, XCom.map_index, XCom.id)
"""Columns XCom lists may be ordered by."""


def xcom_query(
    *, dag_id: str, run_id: str, task_id: str, map_index: int | None = None
) -> sa.Select[Any]:
    """The XComs of a task in a run (of its instance ``map_index`` when given; None: of
    every instance), unordered: the caller pages them."""
    stmt = sa.select(XCom).where(
        XCom.dag_id == dag_id, XCom.run_id == run_id, XCom.task_id == task_id
    )
    if map_index is not None:
        stmt = stmt.where(XCom.map_index == map_index)
    return stmt


def get_xcom_entry(
    *, session: Session, dag_id: str, run_id: str, task_id: str, map_index: int, key: str
) -> XCom:
    """XCom ``key`` of one instance of a task; :class:`NotFoundError` when it has none."""
    stmt = xcom_query(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index)
    found: XCom | None = session.scalar(stmt.where(XCom.key == key))
    if found is None:
        raise NotFoundError(f"task {task_id!r} of run {run_id!r} has no XCom {key!r}")
    return found


def xcoms_of(*, session: Session, ti: TaskInstance) -> list[XCom]:
    """The XComs ``ti`` published, by key."""
    stmt = xcom_query(
        dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, map_index=ti.map_index
    )
    return list(session.scalars(stmt.order_by(XCom.key)))
