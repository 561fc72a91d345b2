"""What many revisions declare alike: the JSON column type, the cascading foreign key and
the table that links rows of other tables.

Frozen by design. A revision that calls these must create, on every run, the schema it
created the day it was written, so a definition here never changes: a new need gets a new
name, and a revision that wants another shape spells it out. The naming convention is
written out below, not read from :data:`engine.models.base.NAMING_CONVENTION`, for the
same reason. ``tests/engine/test_migrations.py`` holds a digest of the SQL every revision
emits and fails when an edit here (or in a revision) changes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
"""JSON, as ``JSONB`` on PostgreSQL."""

KeyColumn = tuple[str, sa.types.TypeEngine[Any], str | None]
"""A key column of a link table: its name, its type, and the ``"table.column"`` it refers
to (None: it refers to nothing)."""


def cascade_foreign_key(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """``table.column`` refers to ``target`` (``"table.column"``) and its row is deleted
    with the row it refers to; named ``fk_<table>_<column>_<referred table>``."""
    referred_table = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred_table}"), ondelete="CASCADE"
    )


def create_link_table(table: str, *key: KeyColumn, columns: Iterable[sa.Column[Any]] = ()) -> None:
    """Create ``table``, whose rows link rows of other tables: ``key``'s columns (NOT NULL,
    in order, then ``columns``) are its primary key ``pk_<table>``, and each that refers to
    a row is deleted with it (its foreign keys in the order of their columns' names)."""
    references = sorted((name, target) for name, _, target in key if target is not None)
    op.create_table(
        table,
        *(sa.Column(name, type_, nullable=False) for name, type_, _ in key),
        *columns,
        *(cascade_foreign_key(table, name, target) for name, target in references),
        sa.PrimaryKeyConstraint(*(name for name, _, _ in key), name=op.f(f"pk_{table}")),
    )
