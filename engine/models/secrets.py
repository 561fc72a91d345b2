"""Variables and connections as stored: secret fields hold Fernet tokens when a key is
configured (:mod:`engine.models.crypto`), plain text otherwise (``is_encrypted`` says
which, per row, so a key added later does not make older rows unreadable).

These rows are the database tier of the lookup; what a task sees is
:class:`engine.authoring.connection.Connection` and :mod:`engine.execution.secrets`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base
from engine.models.dags import ID_LENGTH

HOST_LENGTH = 500
"""Width of ``conn_type``, ``host`` and ``schema`` (Airflow's)."""


class StoredVariable(Base):
    """A variable: a key and a string value (JSON when the writer serialized it)."""

    __tablename__ = "variable"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(ID_LENGTH), unique=True)
    val: Mapped[str] = mapped_column(sa.Text)
    """The value, a Fernet token when ``is_encrypted``."""
    description: Mapped[str | None] = mapped_column(sa.Text)
    is_encrypted: Mapped[bool] = mapped_column(default=False)


class StoredConnection(Base):
    """A connection: where a system is and how to sign in to it."""

    __tablename__ = "connection"

    id: Mapped[int] = mapped_column(primary_key=True)
    conn_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), unique=True)
    conn_type: Mapped[str] = mapped_column(sa.String(HOST_LENGTH))
    description: Mapped[str | None] = mapped_column(sa.Text)
    host: Mapped[str | None] = mapped_column(sa.String(HOST_LENGTH))
    schema: Mapped[str | None] = mapped_column(sa.String(HOST_LENGTH))
    login: Mapped[str | None] = mapped_column(sa.Text)
    password: Mapped[str | None] = mapped_column(sa.Text)
    """A Fernet token when ``is_encrypted``."""
    port: Mapped[int | None] = mapped_column()
    extra: Mapped[str | None] = mapped_column(sa.Text)
    """JSON text; a Fernet token when ``is_extra_encrypted``."""
    is_encrypted: Mapped[bool] = mapped_column(default=False)
    is_extra_encrypted: Mapped[bool] = mapped_column(default=False)
