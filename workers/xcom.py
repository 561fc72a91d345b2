"""XCom in the database, as a running try sees it.

Reads go to the database (upstream tasks' values). Writes are held in memory until the
try finishes and are written by :meth:`DatabaseXComStore.write` inside the finishing
transaction, only when the try succeeded: a failed, timed-out or late (zombie) try
leaves no partial XCom behind, and a successful one replaces all of its task's values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import XCom

BRANCH_KEY = "__branch__"
"""The XCom key under which a branch task's chosen downstream task ids are stored."""

_Key = tuple[str, str, str, str]


class XComTooLargeError(ValueError):
    """A value is larger than ``core.max_xcom_bytes`` once serialized."""


class DatabaseXComStore:
    """The :class:`engine.execution.context.XComStore` of one try in a worker."""

    def __init__(self, session_factory: Callable[[], Session], *, max_bytes: int) -> None:
        self.session_factory = session_factory
        self.max_bytes = max_bytes
        self.pending: dict[_Key, Any] = {}

    def get(self, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        wanted = (dag_id, run_id, task_id, key)
        if wanted in self.pending:
            return self.pending[wanted]
        with self.session_factory() as session:
            return session.scalar(_select(dag_id, run_id, task_id).where(XCom.key == key))

    def set(self, dag_id: str, run_id: str, task_id: str, key: str, value: Any) -> None:
        size = len(json.dumps(value).encode())
        if size > self.max_bytes:
            raise XComTooLargeError(
                f"XCom {key!r} of task {task_id!r} is {size} bytes as JSON, more than "
                f"core.max_xcom_bytes ({self.max_bytes})"
            )
        self.pending[(dag_id, run_id, task_id, key)] = value

    def write(self, *, session: Session, dag_id: str, run_id: str, task_id: str) -> None:
        """Replace the stored values of the task with this try's (the caller commits)."""
        replace_xcoms(
            session=session,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            values={k[3]: v for k, v in self.pending.items() if k[:3] == (dag_id, run_id, task_id)},
        )


def replace_xcoms(
    *, session: Session, dag_id: str, run_id: str, task_id: str, values: dict[str, Any]
) -> None:
    """Delete every XCom of the task, then store ``values`` (key → JSON value)."""
    session.execute(
        sa.delete(XCom)
        .where(XCom.dag_id == dag_id, XCom.run_id == run_id, XCom.task_id == task_id)
        .execution_options(synchronize_session=False)
    )
    session.add_all(
        XCom(dag_id=dag_id, run_id=run_id, task_id=task_id, key=key, value=value)
        for key, value in values.items()
    )
    session.flush()


def _select(dag_id: str, run_id: str, task_id: str) -> sa.Select[tuple[Any]]:
    return sa.select(XCom.value).where(
        XCom.dag_id == dag_id, XCom.run_id == run_id, XCom.task_id == task_id
    )
