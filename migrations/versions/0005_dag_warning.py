"""DAG warnings: risky but working DAG definitions, shown beside import errors."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"


def upgrade() -> None:
    op.create_table(
        "dag_warning",
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("warning_type", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dag_id"], ["dag.dag_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dag_id", "warning_type"),
    )


def downgrade() -> None:
    op.drop_table("dag_warning")
