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


def upgrade() -> None:
    # Added nullable, filled, then made NOT NULL: works whether or not rows exist.
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column("event_type", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("recipients", JSON, nullable=True))
        batch.add_column(sa.Column("dag_id", sa.String(length=250), nullable=True))
        batch.add_column(sa.Column("run_id", sa.String(length=250), nullable=True))
        batch.add_column(sa.Column("task_id", sa.String(length=250), nullable=True))
        batch.add_column(sa.Column("payload", JSON, nullable=True))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        sa.text(
            f"UPDATE {TABLE} SET event_type = '', recipients = '[]', payload = '{{}}',"
            " next_attempt_at = created_at"
        )
    )
    with op.batch_alter_table(TABLE) as batch:
        for name, type_ in (
            ("event_type", sa.String(length=64)),
            ("recipients", JSON),
            ("payload", JSON),
            ("next_attempt_at", sa.DateTime(timezone=True)),
        ):
            batch.alter_column(name, existing_type=type_, nullable=False)
        batch.create_index(
            "ix_notification_delivery_status_next_attempt_at", ["status", "next_attempt_at"]
        )
        batch.create_index("ix_notification_delivery_dag_id_run_id", ["dag_id", "run_id"])
    for table in ("dag_run", "task_instance"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("deadline_missed_at", sa.DateTime(timezone=True), nullable=True)
            )


def downgrade() -> None:
    for table in ("task_instance", "dag_run"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("deadline_missed_at")
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_index("ix_notification_delivery_dag_id_run_id")
        batch.drop_index("ix_notification_delivery_status_next_attempt_at")
        for name in (
            "next_attempt_at", "payload", "task_id", "run_id", "dag_id", "recipients", "event_type",
        ):  # fmt: skip
            batch.drop_column(name)
