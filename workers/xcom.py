"""XCom in the database, as a running try sees it.

Reads go to the database (upstream tasks' values). Writes are held in memory until the
try finishes and are written by :meth:`DatabaseXComStore.write` inside the finishing
transaction, only when the try succeeded: a failed, timed-out or late (zombie) try
leaves no partial XCom behind, and a successful one replaces all of its task's values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import DagRun, XCom

BRANCH_KEY = "__branch__"
"""The XCom key under which a branch task's chosen downstream task ids are stored."""

_Key = tuple[str, str, str, str, int]


class XComTooLargeError(ValueError):
    """A value is larger than ``core.max_xcom_bytes`` once serialized."""


class DatabaseXComStore:
    """The :class:`engine.execution.context.XComStore` of one try in a worker."""

    def __init__(self, session_factory: Callable[[], Session], *, max_bytes: int) -> None:
        self.session_factory = session_factory
        self.max_bytes = max_bytes
        self.pending: dict[_Key, Any] = {}

    def get(self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> Any:
        wanted = (dag_id, run_id, task_id, key, map_index)
        if wanted in self.pending:
            return self.pending[wanted]
        with self.session_factory() as session:
            stmt = _select(dag_id, run_id, task_id).where(
                XCom.key == key, XCom.map_index == map_index
            )
            return session.scalar(stmt)

    def get_mapped(self, dag_id: str, run_id: str, task_id: str, key: str) -> Sequence[Any]:
        stmt = _select(dag_id, run_id, task_id).where(XCom.key == key, XCom.map_index >= 0)
        return LazyXComSequence(self.session_factory, stmt)

    def set(
        self, dag_id: str, run_id: str, task_id: str, key: str, value: Any, map_index: int = -1
    ) -> None:
        size = len(json.dumps(value).encode())
        if size > self.max_bytes:
            raise XComTooLargeError(
                f"XCom {key!r} of task {task_id!r} is {size} bytes as JSON, more than "
                f"core.max_xcom_bytes ({self.max_bytes})"
            )
        self.pending[(dag_id, run_id, task_id, key, map_index)] = value

    def latest_run_with(
        self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int | None
    ) -> str | None:
        """The newest run no later than ``run_id`` (by logical date, then id) that has the
        value: Airflow's ``include_prior_dates``."""
        if (dag_id, run_id, task_id, key, map_index) in self.pending:
            return run_id
        this = sa.select(DagRun.logical_date).where(
            DagRun.dag_id == dag_id, DagRun.run_id == run_id
        ).scalar_subquery()  # fmt: skip
        instance = XCom.map_index >= 0 if map_index is None else XCom.map_index == map_index
        stmt = (
            sa.select(XCom.run_id)
            .join(DagRun, sa.and_(DagRun.dag_id == XCom.dag_id, DagRun.run_id == XCom.run_id))
            .where(XCom.dag_id == dag_id, XCom.task_id == task_id, XCom.key == key, instance)
            .where(DagRun.logical_date <= this)
            .order_by(DagRun.logical_date.desc(), sa.case((XCom.run_id == run_id, 0), else_=1))
            .order_by(DagRun.id.desc())
            .limit(1)
        )
        with self.session_factory() as session:
            return session.scalar(stmt)

    def write(
        self,
        *,
        session: Session,
        dag_id: str,
        run_id: str,
        task_id: str,
        map_index: int = -1,
        resumed: bool = False,
    ) -> None:
        """Replace the stored values of the task instance with this try's (the caller
        commits); a ``resumed`` try keeps what it pushed before its deferral."""
        replace_xcoms(
            session=session,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=map_index,
            values=self.pending_of(dag_id, run_id, task_id, map_index),
            only_these=resumed,
        )

    def pending_of(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> dict[str, Any]:
        """The values this try pushed for the task instance, by key (what the finish
        writes)."""
        mine = (dag_id, run_id, task_id)
        return {k[3]: v for k, v in self.pending.items() if k[:3] == mine and k[4] == map_index}


def replace_xcoms(
    *,
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    values: dict[str, Any],
    map_index: int = -1,
    only_these: bool = False,
) -> None:
    """Delete every XCom of the task instance (``only_these``: those of the keys of
    ``values``), then store ``values`` (key → JSON value)."""
    stmt = sa.delete(XCom).where(
        XCom.dag_id == dag_id,
        XCom.run_id == run_id,
        XCom.task_id == task_id,
        XCom.map_index == map_index,
    )
    if only_these:
        stmt = stmt.where(XCom.key.in_(list(values)))
    session.execute(stmt.execution_options(synchronize_session=False))
    session.add_all(
        XCom(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index, key=k, value=v)
        for k, v in values.items()
    )
    session.flush()


class LazyXComSequence(Sequence[Any]):
    """A mapped task's values, ordered by ``map_index``, read from the database when
    used: ``len()`` counts, an index reads one row, iteration reads them all once."""

    def __init__(self, session_factory: Callable[[], Session], stmt: sa.Select[tuple[Any]]):
        self.session_factory = session_factory
        self.stmt = stmt.order_by(XCom.map_index)
        self._values: list[Any] | None = None

    def __len__(self) -> int:
        if self._values is not None:
            return len(self._values)
        with self.session_factory() as session:
            count = sa.select(sa.func.count()).select_from(self.stmt.subquery())
            return session.scalar(count) or 0

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice) or index < 0 or self._values is not None:
            return self._all()[index]
        with self.session_factory() as session:
            row = session.execute(self.stmt.offset(index).limit(1)).one_or_none()
        if row is None:
            raise IndexError(index)
        return row[0]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._all())

    def _all(self) -> list[Any]:
        if self._values is None:
            with self.session_factory() as session:
                self._values = list(session.scalars(self.stmt))
        return self._values

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LazyXComSequence([{len(self)} items])"


def _select(dag_id: str, run_id: str, task_id: str) -> sa.Select[tuple[Any]]:
    return sa.select(XCom.value).where(
        XCom.dag_id == dag_id, XCom.run_id == run_id, XCom.task_id == task_id
    )
