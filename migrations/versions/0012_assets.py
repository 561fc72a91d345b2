"""Assets: assets and aliases, their events, the DAGs scheduled on them, the queue of
events not yet consumed per DAG, and the events each run consumed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "asset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=1500), nullable=False),
        sa.Column("uri", sa.String(length=1500), nullable=False),
        sa.Column("group", sa.String(length=1500), nullable=False),
        sa.Column("extra", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset")),
        sa.UniqueConstraint("name", "uri", name=op.f("uq_asset_name_uri")),
    )
    op.create_table(
        "asset_alias",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=1500), nullable=False),
        sa.Column("group", sa.String(length=1500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_alias")),
        sa.UniqueConstraint("name", name=op.f("uq_asset_alias_name")),
    )
    op.create_table(
        "asset_alias_asset",
        sa.Column("alias_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alias_id"],
            ["asset_alias.id"],
            name=op.f("fk_asset_alias_asset_alias_id_asset_alias"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_asset_alias_asset_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alias_id", "asset_id", name=op.f("pk_asset_alias_asset")),
    )
    op.create_table(
        "asset_dag_run_queue",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("target_dag_id", sa.String(length=250), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_asset_dag_run_queue_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_dag_id"],
            ["dag.dag_id"],
            name=op.f("fk_asset_dag_run_queue_target_dag_id_dag"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "target_dag_id", name=op.f("pk_asset_dag_run_queue")),
    )
    op.create_table(
        "asset_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("extra", JSON, nullable=False),
        sa.Column("source_dag_id", sa.String(length=250), nullable=True),
        sa.Column("source_run_id", sa.String(length=250), nullable=True),
        sa.Column("source_task_id", sa.String(length=250), nullable=True),
        sa.Column("source_map_index", sa.Integer(), server_default="-1", nullable=False),
        sa.Column("source_alias_name", sa.String(length=1500), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_asset_event_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_event")),
    )
    with op.batch_alter_table("asset_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_asset_event_asset_id_timestamp", ["asset_id", "timestamp"], unique=False
        )

    op.create_table(
        "dag_schedule_asset_alias_reference",
        sa.Column("alias_id", sa.Integer(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.ForeignKeyConstraint(
            ["alias_id"],
            ["asset_alias.id"],
            name=op.f("fk_dag_schedule_asset_alias_reference_alias_id_asset_alias"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dag_id"],
            ["dag.dag_id"],
            name=op.f("fk_dag_schedule_asset_alias_reference_dag_id_dag"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "alias_id", "dag_id", name=op.f("pk_dag_schedule_asset_alias_reference")
        ),
    )
    op.create_table(
        "dag_schedule_asset_reference",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_dag_schedule_asset_reference_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dag_id"],
            ["dag.dag_id"],
            name=op.f("fk_dag_schedule_asset_reference_dag_id_dag"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "dag_id", name=op.f("pk_dag_schedule_asset_reference")),
    )
    op.create_table(
        "task_outlet_asset_reference",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("task_id", sa.String(length=250), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_task_outlet_asset_reference_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dag_id"],
            ["dag.dag_id"],
            name=op.f("fk_task_outlet_asset_reference_dag_id_dag"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "asset_id", "dag_id", "task_id", name=op.f("pk_task_outlet_asset_reference")
        ),
    )
    op.create_table(
        "dagrun_asset_event",
        sa.Column("dag_run_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dag_run_id"],
            ["dag_run.id"],
            name=op.f("fk_dagrun_asset_event_dag_run_id_dag_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["asset_event.id"],
            name=op.f("fk_dagrun_asset_event_event_id_asset_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dag_run_id", "event_id", name=op.f("pk_dagrun_asset_event")),
    )
    with op.batch_alter_table("dagrun_asset_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dagrun_asset_event_event_id"), ["event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dagrun_asset_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dagrun_asset_event_event_id"))

    op.drop_table("dagrun_asset_event")
    op.drop_table("task_outlet_asset_reference")
    op.drop_table("dag_schedule_asset_reference")
    op.drop_table("dag_schedule_asset_alias_reference")
    with op.batch_alter_table("asset_event", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_event_asset_id_timestamp")

    op.drop_table("asset_event")
    op.drop_table("asset_dag_run_queue")
    op.drop_table("asset_alias_asset")
    op.drop_table("asset_alias")
    op.drop_table("asset")
