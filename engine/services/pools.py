"""Pools: named numbers of slots that task instances share. The API and the CLI call these.

``default_pool`` may be resized but never deleted: every task that names no pool is in
it, and a task whose pool does not exist is held back by the scheduler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import Pool, TaskInstance
from engine.priority import DEFAULT_POOL
from engine.services.pagination import order_columns
from engine.state import TaskInstanceState

POOL_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,249}")
"""Letters, digits and ``. _ -``, starting with a letter or digit, 250 at most."""


@dataclass(frozen=True)
class PoolUsage:
    """A pool and the slots its task instances hold now."""

    pool: Pool
    running_slots: int
    queued_slots: int

    @property
    def open_slots(self) -> int:
        return self.pool.slots - self.running_slots - self.queued_slots


POOL_ORDER = order_columns(Pool.name, Pool.slots)
"""Columns pool lists may be ordered by."""


def pool_query() -> sa.Select[Any]:
    """Every pool (unordered: the caller pages them)."""
    return sa.select(Pool)


def require_pool(*, session: Session, name: str) -> Pool:
    """Pool ``name``; NotFoundError when there is none."""
    pool = session.get(Pool, name)
    if pool is None:
        raise NotFoundError(f"no pool {name!r}")
    return pool


def usage(*, session: Session, pools: list[Pool]) -> list[PoolUsage]:
    """``pools`` with the slots their queued and running task instances hold."""
    held: dict[tuple[str, str], int] = {}
    stmt = (
        sa.select(TaskInstance.pool, TaskInstance.state, sa.func.sum(TaskInstance.pool_slots))
        .where(TaskInstance.pool.in_([p.name for p in pools]))
        .where(TaskInstance.state.in_([TaskInstanceState.QUEUED, TaskInstanceState.RUNNING]))
        .group_by(TaskInstance.pool, TaskInstance.state)
    )
    for name, state, slots in session.execute(stmt):
        held[(name, TaskInstanceState(state).value)] = int(slots or 0)
    return [
        PoolUsage(p, held.get((p.name, "running"), 0), held.get((p.name, "queued"), 0))
        for p in pools
    ]


def create_pool(*, session: Session, name: str, slots: int, description: str | None) -> Pool:
    """Add a pool; ConflictError when the name is taken. Never commits."""
    if not POOL_NAME_PATTERN.fullmatch(name):
        raise InvalidInputError(f"name: {name!r} is not a valid pool name")
    _check_slots(slots)
    if session.get(Pool, name) is not None:
        raise ConflictError(f"pool {name!r} exists already")
    pool = Pool(name=name, slots=slots, description=description)
    session.add(pool)
    session.flush()
    return pool


def update_pool(
    *, session: Session, pool: Pool, slots: int | None, description: str | None
) -> Pool:
    """Resize a pool or change its description (None leaves a field as it is)."""
    if slots is not None:
        _check_slots(slots)
        pool.slots = slots
    if description is not None:
        pool.description = description
    session.flush()
    return pool


def delete_pool(*, session: Session, pool: Pool) -> None:
    """Remove a pool; its tasks wait until it exists again. ``default_pool`` stays."""
    if pool.name == DEFAULT_POOL:
        raise ConflictError(f"{DEFAULT_POOL} cannot be deleted (resize it instead)")
    session.delete(pool)
    session.flush()


def _check_slots(slots: int) -> None:
    if slots < 0:
        raise InvalidInputError("slots: must be 0 or more")
