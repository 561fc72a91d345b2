"""Pages of query results, ordering by name, and limiting rows to some DAGs.

What every list of the API (and any other reader) shares: a filtered ``SELECT`` becomes
a :class:`Page` (the rows asked for plus the total count), ordered by a column named by
the caller (``-name`` for descending) from an allowed set.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import InvalidInputError

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and how many rows the whole list has."""

    items: list[T]
    total: int
    limit: int
    offset: int

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def with_items(self, items: Sequence[U]) -> Page[U]:
        """This page with ``items`` in place of its own (its rows as the API shows them)."""
        return Page(items=list(items), total=self.total, limit=self.limit, offset=self.offset)

    @classmethod
    def whole(cls, items: Sequence[T]) -> Page[T]:
        """Every item of a short list that is not paged (what an action changed)."""
        return cls(items=list(items), total=len(items), limit=len(items), offset=0)


def paginate(
    *, session: Session, stmt: sa.Select[Any], order: Sequence[Any], limit: int, offset: int
) -> Page[T]:
    """Run ``stmt`` for one page (``limit`` rows from ``offset``) and count every row."""
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    rows = list(session.scalars(stmt.order_by(*order).limit(limit).offset(offset)))
    return Page(items=rows, total=int(total or 0), limit=limit, offset=offset)


def order_columns(*columns: Any) -> dict[str, Any]:
    """The columns a list may be ordered by, under the names ``order_by`` gives them
    (each column's attribute name)."""
    return {column.key: column for column in columns}


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


def within_dags(
    stmt: sa.Select[Any], column: Any, dag_ids: Collection[str] | None
) -> sa.Select[Any]:
    """``stmt`` limited to rows whose ``column`` is in ``dag_ids`` (None: no limit)."""
    if dag_ids is None:
        return stmt
    return stmt.where(column.in_(sorted(dag_ids)))
