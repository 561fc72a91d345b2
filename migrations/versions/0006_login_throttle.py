"""Sign-in throttling per username and client address.

``login_failure`` counts failed sign-ins of a username (known or not) from one client
address, and from every address (client ``*``); it replaces ``user.failed_logins`` and
``user.locked_until``, which counted per account only (so anyone could lock anyone out)
and never counted unknown usernames. Downgrading brings the columns back empty: the
counts of the new table are not carried over.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("username", sa.String(length=250), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", "client", name=op.f("pk_login_failure")),
    )
    op.create_index(op.f("ix_login_failure_last_at"), "login_failure", ["last_at"])
    with op.batch_alter_table("user") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("user") as batch:
        batch.alter_column("failed_logins", existing_type=sa.Integer(), server_default=None)
    op.drop_index(op.f("ix_login_failure_last_at"), table_name="login_failure")
    op.drop_table("login_failure")
