"""Remote logs: where a finished try's whole log was uploaded, when the database keeps
only its tail (``logging.remote_base_url``).

Plain ``ADD COLUMN`` / ``DROP COLUMN`` on both databases, like 0016.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"


def upgrade() -> None:
    op.add_column("task_attempt", sa.Column("log_remote_url", sa.String(2048), nullable=True))
    op.add_column(
        "task_attempt",
        sa.Column("log_remote_start", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE task_attempt DROP COLUMN log_remote_start")
    op.execute("ALTER TABLE task_attempt DROP COLUMN log_remote_url")
