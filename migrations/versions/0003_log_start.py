"""Where a kept log starts in its try's whole output, for following a running try's log."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    with op.batch_alter_table("task_attempt") as batch:
        batch.add_column(sa.Column("log_start", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("task_attempt") as batch:
        batch.drop_column("log_start")
