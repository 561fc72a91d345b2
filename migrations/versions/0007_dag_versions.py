"""DAG versions: every serialized graph a DAG had, and the version each run was created with.

Upgrading makes the current ``serialized_dag`` of each DAG its version 1 (its source is not
known: NULL); existing runs keep no version (NULL) and follow the latest graph as before.
Downgrading drops the versions and the runs' references to them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.ddl import JSON, cascade_foreign_key

revision: str = "0007"
down_revision: str | None = "0006"


def upgrade() -> None:
    op.create_table(
        "dag_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("dag_hash", sa.String(length=64), nullable=False),
        sa.Column("fileloc", sa.String(length=1000), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("source_code", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        cascade_foreign_key("dag_version", "dag_id", "dag.dag_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dag_version")),
        sa.UniqueConstraint(
            "dag_id", "version_number", name=op.f("uq_dag_version_dag_id_version_number")
        ),
    )
    op.execute(
        "INSERT INTO dag_version (dag_id, version_number, data, dag_hash, fileloc, file_hash,"
        " created_at) SELECT dag_id, 1, data, dag_hash, fileloc, file_hash, updated_at"
        " FROM serialized_dag"
    )
    with op.batch_alter_table("dag_run") as batch:
        batch.add_column(sa.Column("dag_version_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_dag_run_dag_version_id_dag_version"),
            "dag_version",
            ["dag_version_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("dag_run") as batch:
        batch.drop_constraint(op.f("fk_dag_run_dag_version_id_dag_version"), type_="foreignkey")
        batch.drop_column("dag_version_id")
    op.drop_table("dag_version")
