"""Process heartbeats: workers and notifiers record themselves (``process_heartbeat``), so
that the home page tells an idle healthy worker from a dead one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"


def upgrade() -> None:
    op.create_table(
        "process_heartbeat",
        sa.Column("process_id", sa.String(length=250), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("hostname", sa.String(length=250), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("process_id", "kind", name=op.f("pk_process_heartbeat")),
    )
    op.create_index(
        op.f("ix_process_heartbeat_last_heartbeat_at"), "process_heartbeat", ["last_heartbeat_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_process_heartbeat_last_heartbeat_at"), "process_heartbeat")
    op.drop_table("process_heartbeat")
