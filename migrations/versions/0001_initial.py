"""Initial schema: every table of engine.models as of Loom 0.1."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.ddl import JSON, cascade_foreign_key, create_link_table

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    op.create_table(
        "dag",
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("fileloc", sa.String(length=1000), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(length=250), nullable=True),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("schedule", sa.String(length=250), nullable=True),
        sa.Column("is_paused", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("max_active_runs", sa.Integer(), nullable=False),
        sa.Column("max_active_tasks", sa.Integer(), nullable=False),
        sa.Column("last_parsed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_dagrun_create_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dag_id", name=op.f("pk_dag")),
    )
    op.create_index(op.f("ix_dag_next_dagrun_create_after"), "dag", ["next_dagrun_create_after"])
    op.create_table(
        "dag_file",
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("mtime", sa.Double(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("dag_ids", JSON, nullable=False),
        sa.Column("last_parsed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parse_duration", sa.Double(), nullable=True),
        sa.Column("has_import_error", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_dag_file")),
    )
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("task_id", sa.String(length=250), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=250), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
    )
    op.create_index(
        op.f("ix_dead_letter_dag_id_run_id_task_id"), "dead_letter", ["dag_id", "run_id", "task_id"]
    )
    op.create_index(op.f("ix_dead_letter_state"), "dead_letter", ["state"])
    op.create_table(
        "import_error",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=1000), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("file_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_error")),
    )
    op.create_index(op.f("ix_import_error_filename"), "import_error", ["filename"])
    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=250), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_delivery")),
        sa.UniqueConstraint(
            "event_id",
            "channel",
            "target",
            name=op.f("uq_notification_delivery_event_id_channel_target"),
        ),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=250), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_dedup_key")),
    )
    op.create_index(op.f("ix_outbox_state_available_at"), "outbox", ["state", "available_at"])
    op.create_table(
        "permission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission")),
        sa.UniqueConstraint("action", "resource", name=op.f("uq_permission_action_resource")),
    )
    op.create_table(
        "pool",
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pool")),
    )
    op.create_table(
        "role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("dag_tags", JSON, nullable=False),
        sa.Column("is_builtin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role")),
        sa.UniqueConstraint("name", name=op.f("uq_role_name")),
    )
    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=250), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("full_name", sa.String(length=250), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("username", name=op.f("uq_user_username")),
    )
    op.create_table(
        "xcom",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("task_id", sa.String(length=250), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xcom")),
        sa.UniqueConstraint(
            "dag_id", "run_id", "task_id", "key", name=op.f("uq_xcom_dag_id_run_id_task_id_key")
        ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=250), nullable=True),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=250), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_audit_log_user_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_created_at"), "audit_log", ["created_at"])
    op.create_table(
        "dag_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("logical_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_interval_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_interval_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_type", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("conf", JSON, nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("triggered_by", sa.String(length=250), nullable=True),
        sa.Column("dag_hash", sa.String(length=64), nullable=True),
        sa.Column("last_scheduling_decision", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        cascade_foreign_key("dag_run", "dag_id", "dag.dag_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dag_run")),
        sa.UniqueConstraint("dag_id", "run_id", name=op.f("uq_dag_run_dag_id_run_id")),
    )
    op.create_index(op.f("ix_dag_run_dag_id"), "dag_run", ["dag_id"])
    op.create_index(op.f("ix_dag_run_dag_id_logical_date"), "dag_run", ["dag_id", "logical_date"])
    op.create_index(op.f("ix_dag_run_state"), "dag_run", ["state"])
    op.create_index(op.f("ix_dag_run_state_run_after"), "dag_run", ["state", "run_after"])
    create_link_table(
        "role_permission",
        ("role_id", sa.Integer(), "role.id"),
        ("permission_id", sa.Integer(), "permission.id"),
    )
    op.create_table(
        "serialized_dag",
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("dag_hash", sa.String(length=64), nullable=False),
        sa.Column("fileloc", sa.String(length=1000), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        cascade_foreign_key("serialized_dag", "dag_id", "dag.dag_id"),
        sa.PrimaryKeyConstraint("dag_id", name=op.f("pk_serialized_dag")),
    )
    create_link_table(
        "user_role", ("user_id", sa.Integer(), "user.id"), ("role_id", sa.Integer(), "role.id")
    )
    op.create_table(
        "task_instance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dag_run_id", sa.Integer(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("task_id", sa.String(length=250), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("max_tries", sa.Integer(), nullable=False),
        sa.Column("priority_class", sa.String(length=32), nullable=False),
        sa.Column("priority_weight", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=250), nullable=False),
        sa.Column("pool", sa.String(length=250), nullable=False),
        sa.Column("pool_slots", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=250), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration", sa.Double(), nullable=True),
        sa.Column("hostname", sa.String(length=250), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.String(length=250), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        cascade_foreign_key("task_instance", "dag_run_id", "dag_run.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_instance")),
        sa.UniqueConstraint(
            "dag_id", "run_id", "task_id", name=op.f("uq_task_instance_dag_id_run_id_task_id")
        ),
    )
    op.create_index(
        op.f("ix_task_instance_dag_run_id_state"), "task_instance", ["dag_run_id", "state"]
    )
    op.create_index(op.f("ix_task_instance_state"), "task_instance", ["state"])
    op.create_index(
        op.f("ix_task_instance_state_last_heartbeat_at"),
        "task_instance",
        ["state", "last_heartbeat_at"],
    )
    op.create_index(
        op.f("ix_task_instance_state_next_retry_at"), "task_instance", ["state", "next_retry_at"]
    )
    op.create_table(
        "task_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_instance_id", sa.Integer(), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hostname", sa.String(length=250), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("error_type", sa.String(length=250), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("log", sa.Text(), nullable=True),
        sa.Column("log_truncated", sa.Boolean(), nullable=False),
        sa.Column("rendered", JSON, nullable=False),
        cascade_foreign_key("task_attempt", "task_instance_id", "task_instance.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_attempt")),
        sa.UniqueConstraint(
            "task_instance_id",
            "try_number",
            name=op.f("uq_task_attempt_task_instance_id_try_number"),
        ),
    )


def downgrade() -> None:
    op.drop_table("task_attempt")
    op.drop_table("task_instance")
    op.drop_table("user_role")
    op.drop_table("serialized_dag")
    op.drop_table("role_permission")
    op.drop_table("dag_run")
    op.drop_table("audit_log")
    op.drop_table("xcom")
    op.drop_table("user")
    op.drop_table("role")
    op.drop_table("pool")
    op.drop_table("permission")
    op.drop_table("outbox")
    op.drop_table("notification_delivery")
    op.drop_table("import_error")
    op.drop_table("dead_letter")
    op.drop_table("dag_file")
    op.drop_table("dag")
