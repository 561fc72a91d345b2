"""Assets: assets and aliases, their events, the DAGs scheduled on them, the queue of
events not yet consumed per DAG, and the events each run consumed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.ddl import JSON, KeyColumn, cascade_foreign_key, create_link_table

revision: str = "0012"
down_revision: str | None = "0011"

ASSET_ID: KeyColumn = ("asset_id", sa.Integer(), "asset.id")
ALIAS_ID: KeyColumn = ("alias_id", sa.Integer(), "asset_alias.id")
DAG_ID: KeyColumn = ("dag_id", sa.String(length=250), "dag.dag_id")


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
    create_link_table("asset_alias_asset", ALIAS_ID, ASSET_ID)
    create_link_table(
        "asset_dag_run_queue",
        ASSET_ID,
        ("target_dag_id", sa.String(length=250), "dag.dag_id"),
        columns=[sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)],
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
        cascade_foreign_key("asset_event", "asset_id", "asset.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_event")),
    )
    with op.batch_alter_table("asset_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_asset_event_asset_id_timestamp", ["asset_id", "timestamp"], unique=False
        )

    create_link_table("dag_schedule_asset_alias_reference", ALIAS_ID, DAG_ID)
    create_link_table("dag_schedule_asset_reference", ASSET_ID, DAG_ID)
    create_link_table(
        "task_outlet_asset_reference", ASSET_ID, DAG_ID, ("task_id", sa.String(length=250), None)
    )
    create_link_table(
        "dagrun_asset_event",
        ("dag_run_id", sa.Integer(), "dag_run.id"),
        ("event_id", sa.Integer(), "asset_event.id"),
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
