"""Backfills: a backfill row per request, and the backfill each run belongs to.

On SQLite, altering ``dag_run`` re-creates the table, which drops the triggers migration
0013 put on it: they are created again (on PostgreSQL they stay).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.ddl import JSON, cascade_foreign_key

revision: str = "0015"
down_revision: str | None = "0014"


NOTE = "INSERT INTO dag_run_change (dag_run_id) VALUES (NEW.id)"
SQLITE_RUN_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS dag_run_inserted AFTER INSERT ON dag_run
    FOR EACH ROW WHEN NEW.state = 'running' BEGIN {NOTE}; END""",
    f"""CREATE TRIGGER IF NOT EXISTS dag_run_started AFTER UPDATE OF state ON dag_run
    FOR EACH ROW WHEN NEW.state = 'running' AND OLD.state <> NEW.state BEGIN {NOTE}; END""",
]
"""Migration 0013's triggers on ``dag_run``, as it wrote them."""


def _restore_run_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_RUN_TRIGGERS:
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "backfill",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("from_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("to_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dag_run_conf", JSON, nullable=False),
        sa.Column("is_paused", sa.Boolean(), nullable=False),
        sa.Column("reprocess_behavior", sa.String(length=32), nullable=False),
        sa.Column("max_active_runs", sa.Integer(), nullable=False),
        sa.Column("run_backwards", sa.Boolean(), nullable=False),
        sa.Column("triggered_by", sa.String(length=250), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        cascade_foreign_key("backfill", "dag_id", "dag.dag_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfill")),
    )
    op.create_index(op.f("ix_backfill_dag_id"), "backfill", ["dag_id"])
    with op.batch_alter_table("dag_run") as batch:
        batch.add_column(sa.Column("backfill_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_dag_run_backfill_id"), ["backfill_id"])
        batch.create_foreign_key(
            batch.f("fk_dag_run_backfill_id_backfill"),
            "backfill",
            ["backfill_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _restore_run_triggers()


def downgrade() -> None:
    with op.batch_alter_table("dag_run") as batch:
        batch.drop_constraint(batch.f("fk_dag_run_backfill_id_backfill"), type_="foreignkey")
        batch.drop_index(batch.f("ix_dag_run_backfill_id"))
        batch.drop_column("backfill_id")
    _restore_run_triggers()
    op.drop_index(op.f("ix_backfill_dag_id"), table_name="backfill")
    op.drop_table("backfill")
