"""Run changes: the ``dag_run_change`` table and the triggers that fill it, so that a
scheduler tick advances only the runs whose task instances changed
(see :mod:`engine.models.changes`).

Every running run is noted once on upgrade, so that runs in flight are advanced again.
Note for later migrations: on SQLite, ``batch_alter_table`` on ``task_instance`` or
``dag_run`` re-creates the table and drops its triggers; create them again there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"

IN_FLIGHT = "('scheduled', 'queued', 'running', 'up_for_retry', 'up_for_reschedule', 'deferred')"
"""Moves between these states are not noted: nothing the advance step decides reads them."""

NOTED_MOVE = (
    f"OLD.state <> NEW.state AND NOT (OLD.state IN {IN_FLIGHT} AND NEW.state IN {IN_FLIGHT})"
)
RUN_STARTED = "NEW.state = 'running'"
INTO = "INSERT INTO dag_run_change (dag_run_id)"
NOTE = f"{INTO} VALUES"

POSTGRES_UP = [
    f"""CREATE FUNCTION loom_note_ti_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {NOTE} (NEW.dag_run_id); RETURN NULL; END $$""",
    f"""CREATE FUNCTION loom_note_run_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {NOTE} (NEW.id); RETURN NULL; END $$""",
    """CREATE TRIGGER task_instance_inserted AFTER INSERT ON task_instance
    FOR EACH ROW EXECUTE FUNCTION loom_note_ti_change()""",
    f"""CREATE TRIGGER task_instance_state_changed AFTER UPDATE OF state ON task_instance
    FOR EACH ROW WHEN ({NOTED_MOVE}) EXECUTE FUNCTION loom_note_ti_change()""",
    f"""CREATE TRIGGER dag_run_inserted AFTER INSERT ON dag_run
    FOR EACH ROW WHEN ({RUN_STARTED}) EXECUTE FUNCTION loom_note_run_change()""",
    f"""CREATE TRIGGER dag_run_started AFTER UPDATE OF state ON dag_run
    FOR EACH ROW WHEN ({RUN_STARTED} AND OLD.state <> NEW.state)
    EXECUTE FUNCTION loom_note_run_change()""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER dag_run_started ON dag_run",
    "DROP TRIGGER dag_run_inserted ON dag_run",
    "DROP TRIGGER task_instance_state_changed ON task_instance",
    "DROP TRIGGER task_instance_inserted ON task_instance",
    "DROP FUNCTION loom_note_run_change()",
    "DROP FUNCTION loom_note_ti_change()",
]
SQLITE_UP = [
    f"""CREATE TRIGGER task_instance_inserted AFTER INSERT ON task_instance
    FOR EACH ROW BEGIN {NOTE} (NEW.dag_run_id); END""",
    f"""CREATE TRIGGER task_instance_state_changed AFTER UPDATE OF state ON task_instance
    FOR EACH ROW WHEN {NOTED_MOVE} BEGIN {NOTE} (NEW.dag_run_id); END""",
    f"""CREATE TRIGGER dag_run_inserted AFTER INSERT ON dag_run
    FOR EACH ROW WHEN {RUN_STARTED} BEGIN {NOTE} (NEW.id); END""",
    f"""CREATE TRIGGER dag_run_started AFTER UPDATE OF state ON dag_run
    FOR EACH ROW WHEN {RUN_STARTED} AND OLD.state <> NEW.state BEGIN {NOTE} (NEW.id); END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER dag_run_started",
    "DROP TRIGGER dag_run_inserted",
    "DROP TRIGGER task_instance_state_changed",
    "DROP TRIGGER task_instance_inserted",
]


def upgrade() -> None:
    op.create_table(
        "dag_run_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dag_run_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dag_run_change")),
    )
    with op.batch_alter_table("dag_run_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dag_run_change_dag_run_id"), ["dag_run_id"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_UP if postgres else SQLITE_UP:
        op.execute(statement)
    op.execute(f"{INTO} SELECT id FROM dag_run WHERE state = 'running'")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_DOWN if postgres else SQLITE_DOWN:
        op.execute(statement)
    with op.batch_alter_table("dag_run_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dag_run_change_dag_run_id"))
    op.drop_table("dag_run_change")
