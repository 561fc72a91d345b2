"""What many revisions declare alike: the JSON column type and the cascading foreign key.

Frozen by design. A revision that calls these must create, on every run, the schema it
created the day it was written, so a definition here never changes: a new need gets a new
name, and a revision that wants another shape spells it out. The naming convention is
written out below, not read from :data:`engine.models.base.NAMING_CONVENTION`, for the
same reason. ``tests/engine/test_migrations.py`` holds a digest of the SQL every revision
emits and fails when an edit here (or in a revision) changes it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
"""JSON, as ``JSONB`` on PostgreSQL."""


def cascade_foreign_key(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """``table.column`` refers to ``target`` (``"table.column"``) and its row is deleted
    with the row it refers to; named ``fk_<table>_<column>_<referred table>``."""
    referred_table = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred_table}"), ondelete="CASCADE"
    )
