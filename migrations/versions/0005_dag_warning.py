"""DAG warnings: risky but working DAG definitions, shown beside import errors."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.ddl import cascade_foreign_key

revision: str = "0005"
down_revision: str | None = "0004"


def upgrade() -> None:
    op.create_table(
        "dag_warning",
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("warning_type", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        cascade_foreign_key("dag_warning", "dag_id", "dag.dag_id"),
        sa.PrimaryKeyConstraint("dag_id", "warning_type", name=op.f("pk_dag_warning")),
    )


def downgrade() -> None:
    op.drop_table("dag_warning")
