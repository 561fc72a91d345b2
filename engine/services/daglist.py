"""Listing DAGs: the filters the UI, the API and the CLI list them by, the columns they
order by, lookups by tag, and the count of files that do not import.

It reads only the DAG models (no serialized graphs, no authoring API), so that
``loom dags list`` starts fast (see tests/engine/test_layout.py). Functions take
``session`` keyword-only and never commit.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import Dag, ParseImportError
from engine.services.pagination import order_columns, within_dags


def has_schema(*, session: Session) -> bool:
    """Whether the database holds Loom's tables (``loom db upgrade`` ran)."""
    return sa.inspect(session.connection()).has_table(Dag.__tablename__)


@dataclass(frozen=True)
class DagFilter:
    """What to keep when listing DAGs; None keeps everything."""

    tags: Collection[str] | None = None
    """DAGs carrying at least one of these tags."""
    paused: bool | None = None
    active: bool | None = True
    search: str | None = None
    """Text found in the dag_id or the description (case-insensitive)."""
    dag_ids: Collection[str] | None = None
    """Only these DAGs (a reader limited to some DAGs)."""
    dag_id_contains: str | None = None
    """Text found in the dag_id (case-insensitive)."""
    dag_id_prefix: str | None = None
    """What the dag_id starts with (case as given)."""
    owners: Collection[str] | None = None
    """DAGs owned by one of these."""


DAG_ORDER = order_columns(Dag.dag_id, Dag.last_parsed_at, Dag.next_dagrun_create_after)
"""Columns DAG lists may be ordered by."""


def dag_query(filters: DagFilter, *, session: Session) -> sa.Select[Any]:
    """The DAGs matching ``filters`` (unordered: the caller pages them)."""
    stmt = within_dags(sa.select(Dag), Dag.dag_id, filters.dag_ids)
    if filters.tags:
        stmt = stmt.where(Dag.dag_id.in_(dag_ids_tagged(session=session, tags=filters.tags)))
    if filters.paused is not None:
        stmt = stmt.where(Dag.is_paused == filters.paused)
    if filters.active is not None:
        stmt = stmt.where(Dag.is_active == filters.active)
    if filters.search:
        pattern = f"%{_escape_like(filters.search.lower())}%"
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Dag.dag_id).like(pattern, escape="\\"),
                sa.func.lower(sa.func.coalesce(Dag.description, "")).like(pattern, escape="\\"),
            )
        )
    return _by_dag_id_and_owner(stmt, filters)


def dag_list(*, session: Session, include_inactive: bool = False) -> list[Dag]:
    """Every DAG in the database by dag_id, the inactive ones (file gone) when asked."""
    filters = DagFilter(active=None if include_inactive else True)
    return list(session.scalars(dag_query(filters, session=session).order_by(Dag.dag_id)))


def _by_dag_id_and_owner(stmt: sa.Select[Any], filters: DagFilter) -> sa.Select[Any]:
    if filters.dag_id_contains:
        contained = filters.dag_id_contains.lower()
        stmt = stmt.where(sa.func.lower(Dag.dag_id).contains(contained, autoescape=True))
    if filters.dag_id_prefix:
        stmt = stmt.where(Dag.dag_id.startswith(filters.dag_id_prefix, autoescape=True))
    if filters.owners:
        stmt = stmt.where(Dag.owner.in_(filters.owners))
    return stmt


def dag_ids_tagged(*, session: Session, tags: Collection[str]) -> list[str]:
    """Ids of the DAGs carrying at least one of ``tags``.

    Tags are a JSON list per DAG; matching them in Python keeps one query for SQLite
    and PostgreSQL alike (a DAG table holds thousands of rows, not millions).
    """
    wanted = set(tags)
    rows = session.execute(sa.select(Dag.dag_id, Dag.tags))
    return sorted(dag_id for dag_id, dag_tags in rows if wanted.intersection(dag_tags or ()))


def dag_ids_tagged_with_all(*, session: Session, tags: Collection[str]) -> set[str]:
    """Ids of the DAGs carrying every one of ``tags`` (stale ones too)."""
    wanted = set(tags)
    rows = session.scalars(dag_query(DagFilter(active=None), session=session))
    return {dag.dag_id for dag in rows if wanted <= set(dag.tags or ())}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def import_error_count(*, session: Session) -> int:
    """How many DAG files do not import now."""
    return session.scalar(sa.select(sa.func.count()).select_from(ParseImportError)) or 0
