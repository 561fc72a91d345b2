"""Dynamic task mapping: ``map_index`` on task instances and XComs, and ``task_map``.

A mapped task has one task instance per element of its input, told apart by
``map_index`` (-1 for a task that is not mapped); each instance pushes its own XComs.
A dead letter names the instance it parks by ``map_index`` too.
``task_map`` keeps the length of a return value that a mapped task expands over.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"

_TI_OLD = "uq_task_instance_dag_id_run_id_task_id"
_TI_NEW = "uq_task_instance_dag_id_run_id_task_id_map_index"
_XCOM_OLD = "uq_xcom_dag_id_run_id_task_id_key"
_XCOM_NEW = "uq_xcom_dag_id_run_id_task_id_map_index_key"


def _map_index() -> sa.Column[int]:
    """``map_index``: an instance's place in its mapped task, -1 when the task is not mapped."""
    return sa.Column("map_index", sa.Integer(), nullable=False, server_default="-1")


def upgrade() -> None:
    with op.batch_alter_table("task_instance") as batch:
        batch.add_column(_map_index())
        batch.drop_constraint(_TI_OLD, type_="unique")
        batch.create_unique_constraint(_TI_NEW, ["dag_id", "run_id", "task_id", "map_index"])
    with op.batch_alter_table("xcom") as batch:
        batch.add_column(_map_index())
        batch.drop_constraint(_XCOM_OLD, type_="unique")
        batch.create_unique_constraint(
            _XCOM_NEW, ["dag_id", "run_id", "task_id", "map_index", "key"]
        )
    with op.batch_alter_table("dead_letter") as batch:
        batch.add_column(_map_index())
    op.create_table(
        "task_map",
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("task_id", sa.String(length=250), nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "dag_id", "run_id", "task_id", "map_index", name=op.f("pk_task_map")
        ),
    )


def downgrade() -> None:
    """Mapped instances other than the first are dropped: the old key allows one per task."""
    op.drop_table("task_map")
    with op.batch_alter_table("dead_letter") as batch:
        batch.drop_column("map_index")
    op.execute("DELETE FROM xcom WHERE map_index > 0")
    op.execute("DELETE FROM task_instance WHERE map_index > 0")
    with op.batch_alter_table("xcom") as batch:
        batch.drop_constraint(_XCOM_NEW, type_="unique")
        batch.create_unique_constraint(_XCOM_OLD, ["dag_id", "run_id", "task_id", "key"])
        batch.drop_column("map_index")
    with op.batch_alter_table("task_instance") as batch:
        batch.drop_constraint(_TI_NEW, type_="unique")
        batch.create_unique_constraint(_TI_OLD, ["dag_id", "run_id", "task_id"])
        batch.drop_column("map_index")
