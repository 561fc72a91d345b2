"""Pages of query results, ordering by name, and DAG visibility by tags.

What every list of the API (and any other reader) shares: a filtered ``SELECT`` becomes
a :class:`Page` (the rows asked for plus the total count), ordered by a column named by
the caller (``-name`` for descending) from an allowed set.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import InvalidInputError
from engine.models import Dag

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and how many rows the whole list has."""

    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(
    *, session: Session, stmt: sa.Select[Any], order: Sequence[Any], limit: int, offset: int
) -> Page[T]:
    """Run ``stmt`` for one page (``limit`` rows from ``offset``) and count every row."""
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    rows = list(session.scalars(stmt.order_by(*order).limit(limit).offset(offset)))
    return Page(items=rows, total=int(total or 0), limit=limit, offset=offset)


def ordering(columns: Mapping[str, Any], order_by: str | None, default: str) -> list[Any]:
    """ORDER BY clauses for ``order_by`` (``name`` or ``-name``), ties broken by ``default``.

    InvalidInputError names the allowed columns when ``order_by`` is not one of them.
    """
    key = order_by or default
    name = key.removeprefix("-")
    if name not in columns:
        allowed = ", ".join(sorted(columns))
        raise InvalidInputError(f"order_by: {name!r} is not one of {allowed} (prefix - to reverse)")
    column = columns[name]
    first = column.desc() if key.startswith("-") else column.asc()
    tiebreak = columns[default.removeprefix("-")]
    if tiebreak is column:
        return [first]
    return [first, tiebreak.desc() if default.startswith("-") else tiebreak.asc()]


def dag_ids_tagged(*, session: Session, tags: Collection[str]) -> list[str]:
    """Ids of the DAGs carrying at least one of ``tags``.

    Tags are a JSON list per DAG; matching them in Python keeps one query for SQLite
    and PostgreSQL alike (a DAG table holds thousands of rows, not millions).
    """
    wanted = set(tags)
    rows = session.execute(sa.select(Dag.dag_id, Dag.tags))
    return sorted(dag_id for dag_id, dag_tags in rows if wanted.intersection(dag_tags or ()))


def within_dags(stmt: sa.Select[Any], column: Any, dag_ids: Collection[str] | None) -> Any:
    """``stmt`` limited to rows whose ``column`` is in ``dag_ids`` (None: no limit)."""
    if dag_ids is None:
        return stmt
    return stmt.where(column.in_(sorted(dag_ids)))
