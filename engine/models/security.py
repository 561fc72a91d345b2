"""Users, roles, permissions and the audit log.

A role grants permissions, each an ``(action, resource)`` pair; a role whose
``dag_tags`` is not empty limits DAG-level access to DAGs carrying one of those tags.
Bumping ``User.token_version`` revokes every token issued to the user; a
:class:`RevokedSession` revokes the tokens of one sign-in (a logout). A
:class:`LoginFailure` counts failed sign-ins of a username (see
:mod:`engine.security.throttle`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.models.base import Base, JSONType, UtcDateTime, created_at_column
from engine.models.dags import ID_LENGTH, PATH_LENGTH
from engine.timeutil import utcnow

role_permission = sa.Table(
    "role_permission",
    Base.metadata,
    sa.Column("role_id", sa.ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "permission_id", sa.ForeignKey("permission.id", ondelete="CASCADE"), primary_key=True
    ),
)

user_role = sa.Table(
    "user_role",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role_id", sa.ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
)


class Permission(Base):
    """The right to do ``action`` (read, create, edit, delete) on ``resource``."""

    __tablename__ = "permission"
    __table_args__ = (sa.UniqueConstraint("action", "resource"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(sa.String(32))
    resource: Mapped[str] = mapped_column(sa.String(64))


class Role(Base):
    """A named set of permissions, optionally limited to DAGs with some tags."""

    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    dag_tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    """Empty: every DAG."""
    is_builtin: Mapped[bool] = mapped_column(default=False)

    permissions: Mapped[list[Permission]] = relationship(
        secondary=role_permission, lazy="selectin", order_by=Permission.id
    )
    users: Mapped[list[User]] = relationship(secondary=user_role, back_populates="roles")


class User(Base):
    """A person (or service account) that signs in to the web UI or the API."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(ID_LENGTH), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(320))
    full_name: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at_column()
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    token_version: Mapped[int] = mapped_column(default=0)
    """Part of every token issued; bumping it revokes them all."""

    roles: Mapped[list[Role]] = relationship(
        secondary=user_role, back_populates="users", lazy="selectin", order_by=Role.name
    )


class AuditLog(Base):
    """One action a user took (or tried to take) through the UI, the API or the CLI."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    username: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    source_ip: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    target: Mapped[str | None] = mapped_column(sa.String(PATH_LENGTH))
    outcome: Mapped[str] = mapped_column(sa.String(32))
    """``success``, ``denied``, ``refused`` or ``error`` (engine.services.audit.Outcome)."""
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class RevokedSession(Base):
    """One sign-in whose tokens (access and refresh) were revoked by a logout.

    Every token carries the id of the sign-in it belongs to; a row here refuses them
    all until ``expires_at`` (when its refresh token would expire anyway; then the row
    may be pruned).
    """

    __tablename__ = "revoked_session"

    session_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    revoked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


CLIENT_LENGTH = 64
"""Longest client address kept (an IPv6 address with a zone fits)."""


class LoginFailure(Base):
    """Failed sign-ins of one username (as typed: known or not) from one client address,
    or from every address (``client`` is ``*``), and the lock they caused."""

    __tablename__ = "login_failure"

    username: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    client: Mapped[str] = mapped_column(sa.String(CLIENT_LENGTH), primary_key=True)
    failures: Mapped[int]
    """Failed attempts since ``first_at`` (from one address: attempts not yet successful,
    counted before the password is checked)."""
    first_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
