"""Notes: a user's free text on a DAG run and on a task instance (Airflow 3's ``note``).

Plain ``ADD COLUMN`` / ``DROP COLUMN`` on both databases (SQLite has had ``DROP COLUMN``
since 3.35): no table is re-created, so migration 0013's triggers on ``dag_run`` and
``task_instance`` stay as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"

TABLES = ("dag_run", "task_instance")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("note", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"ALTER TABLE {table} DROP COLUMN note")
