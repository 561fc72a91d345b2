"""Alerts: what a notification delivery sends and when, and the deadline-missed markers.

``notification_delivery`` (created empty by 0001) gains the event's type, ids and
document, the e-mail recipients and the time of the next attempt; ``dag_run`` and
``task_instance`` gain ``deadline_missed_at``, set once when a deadline is found missed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.ddl import JSON

revision: str = "0004"
down_revision: str | None = "0003"

TABLE = "notification_delivery"
COLUMNS = (
    ("event_type", sa.String(length=64), True),
    ("recipients", JSON, True),
    ("dag_id", sa.String(length=250), False),
    ("run_id", sa.String(length=250), False),
    ("task_id", sa.String(length=250), False),
    ("payload", JSON, True),
    ("next_attempt_at", sa.DateTime(timezone=True), True),
)
"""The columns ``notification_delivery`` gains, in order: name, type, NOT NULL once filled."""
DEADLINE_TABLES = ("dag_run", "task_instance")
"""The tables that gain ``deadline_missed_at``."""


def upgrade() -> None:
    # Added nullable, filled, then made NOT NULL: works whether or not rows exist.
    with op.batch_alter_table(TABLE) as batch:
        for name, type_, _required in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    op.execute(
        sa.text(
            f"UPDATE {TABLE} SET event_type = '', recipients = '[]', payload = '{{}}',"
            " next_attempt_at = created_at"
        )
    )
    with op.batch_alter_table(TABLE) as batch:
        for name, type_, required in COLUMNS:
            if required:
                batch.alter_column(name, existing_type=type_, nullable=False)
        batch.create_index(
            "ix_notification_delivery_status_next_attempt_at", ["status", "next_attempt_at"]
        )
        batch.create_index("ix_notification_delivery_dag_id_run_id", ["dag_id", "run_id"])
    for table in DEADLINE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("deadline_missed_at", sa.DateTime(timezone=True), nullable=True)
            )


def downgrade() -> None:
    for table in reversed(DEADLINE_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("deadline_missed_at")
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_index("ix_notification_delivery_dag_id_run_id")
        batch.drop_index("ix_notification_delivery_status_next_attempt_at")
        for name, _type, _required in reversed(COLUMNS):
            batch.drop_column(name)
