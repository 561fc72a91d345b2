"""Revoked sign-ins (logout) and scheduler heartbeats (health check)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.ddl import cascade_foreign_key

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    op.create_table(
        "revoked_session",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        cascade_foreign_key("revoked_session", "user_id", "user.id"),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_revoked_session")),
    )
    op.create_index(op.f("ix_revoked_session_expires_at"), "revoked_session", ["expires_at"])
    op.create_table(
        "scheduler_heartbeat",
        sa.Column("scheduler_id", sa.String(length=250), nullable=False),
        sa.Column("hostname", sa.String(length=250), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scheduler_id", name=op.f("pk_scheduler_heartbeat")),
    )
    op.create_index(
        op.f("ix_scheduler_heartbeat_last_heartbeat_at"),
        "scheduler_heartbeat",
        ["last_heartbeat_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_scheduler_heartbeat_last_heartbeat_at"), table_name="scheduler_heartbeat"
    )
    op.drop_table("scheduler_heartbeat")
    op.drop_index(op.f("ix_revoked_session_expires_at"), table_name="revoked_session")
    op.drop_table("revoked_session")
