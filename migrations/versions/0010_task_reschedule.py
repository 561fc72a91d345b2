"""Sensors in ``mode="reschedule"``: a task instance's next and first poke, and its pokes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"


def upgrade() -> None:
    with op.batch_alter_table("task_instance") as batch:
        batch.add_column(sa.Column("next_poke_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("first_poke_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("poke_count", sa.Integer(), server_default="0", nullable=False))
        batch.create_index(
            "ix_task_instance_state_next_poke_at", ["state", "next_poke_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("task_instance") as batch:
        batch.drop_index("ix_task_instance_state_next_poke_at")
        batch.drop_column("poke_count")
        batch.drop_column("first_poke_at")
        batch.drop_column("next_poke_at")
