"""Deferrable tasks: the ``trigger`` table, triggerers' heartbeats, and what a deferred
task instance resumes with (``trigger_id``, ``next_method``, ``next_kwargs``,
``trigger_timeout``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.ddl import JSON

revision: str = "0011"
down_revision: str | None = "0010"

_FK = "fk_task_instance_trigger_id_trigger"


def upgrade() -> None:
    op.create_table(
        "trigger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("classpath", sa.String(length=1000), nullable=False),
        sa.Column("kwargs", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("triggerer_id", sa.String(length=250), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger")),
    )
    op.create_index(op.f("ix_trigger_triggerer_id"), "trigger", ["triggerer_id"])
    op.create_table(
        "triggerer_heartbeat",
        sa.Column("triggerer_id", sa.String(length=250), nullable=False),
        sa.Column("hostname", sa.String(length=250), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("running", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("triggerer_id", name=op.f("pk_triggerer_heartbeat")),
    )
    op.create_index(
        op.f("ix_triggerer_heartbeat_last_heartbeat_at"),
        "triggerer_heartbeat",
        ["last_heartbeat_at"],
    )
    with op.batch_alter_table("task_instance") as batch:
        batch.add_column(sa.Column("trigger_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("next_method", sa.String(length=250), nullable=True))
        batch.add_column(sa.Column("next_kwargs", JSON, nullable=True))
        batch.add_column(sa.Column("trigger_timeout", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(_FK, "trigger", ["trigger_id"], ["id"], ondelete="SET NULL")
        batch.create_index(batch.f("ix_task_instance_trigger_id"), ["trigger_id"])
        batch.create_index(batch.f("ix_task_instance_trigger_timeout"), ["trigger_timeout"])


def downgrade() -> None:
    """Deferred task instances lose their triggers: clear them to run them again."""
    with op.batch_alter_table("task_instance") as batch:
        batch.drop_index(batch.f("ix_task_instance_trigger_timeout"))
        batch.drop_index(batch.f("ix_task_instance_trigger_id"))
        batch.drop_constraint(_FK, type_="foreignkey")
        batch.drop_column("trigger_timeout")
        batch.drop_column("next_kwargs")
        batch.drop_column("next_method")
        batch.drop_column("trigger_id")
    op.drop_index(op.f("ix_triggerer_heartbeat_last_heartbeat_at"), "triggerer_heartbeat")
    op.drop_table("triggerer_heartbeat")
    op.drop_index(op.f("ix_trigger_triggerer_id"), "trigger")
    op.drop_table("trigger")
