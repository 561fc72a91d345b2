"""Creating, listing and changing users; the CLI, the API and the UI call these.

A change that would leave no active Admin seeing every DAG is refused
(:mod:`engine.security.admins`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import Role, User
from engine.security.admins import keeping_an_admin
from engine.security.passwords import hash_password
from engine.security.throttle import forget_failures
from engine.services.pagination import order_columns

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,249}")
"""Letters, digits and ``. _ @ + -``, starting with a letter or digit, 250 at most."""


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role_names: Sequence[str],
    email: str | None = None,
    full_name: str | None = None,
) -> User:
    """Add an active user with ``role_names``; flushed, never committed.

    Raises InvalidInputError (bad username, short password), ConflictError (the
    username is taken) or NotFoundError (an unknown role; the message lists the roles).
    """
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInputError(f"username: {username!r} is not a valid username")
    if get_user(session=session, username=username) is not None:
        raise ConflictError(f"user {username!r} exists already")
    roles = roles_named(role_names, session=session)
    user = User(
        username=username,
        password_hash=hash_password(password),
        email=email,
        full_name=full_name,
        roles=roles,
    )
    session.add(user)
    session.flush()
    return user


def get_user(*, session: Session, username: str) -> User | None:
    """The user called ``username``, or None."""
    return session.scalars(sa.select(User).where(User.username == username)).one_or_none()


def list_users(*, session: Session) -> list[User]:
    """Every user, by username, with their roles loaded."""
    return list(session.scalars(user_query().order_by(User.username)))


def user_query() -> sa.Select[Any]:
    """Every user (unordered: the caller pages them)."""
    return sa.select(User)


USER_ORDER = order_columns(User.username, User.created_at, User.id)
"""Columns user lists may be ordered by."""


def roles_named(names: Sequence[str], *, session: Session) -> list[Role]:
    """The roles called ``names``; NotFoundError naming the unknown and the existing ones."""
    roles = list(session.scalars(sa.select(Role).where(Role.name.in_(names)).order_by(Role.name)))
    missing = sorted(set(names) - {role.name for role in roles})
    if missing:
        existing = session.scalars(sa.select(Role.name).order_by(Role.name)).all()
        raise NotFoundError(
            f"unknown role(s): {', '.join(missing)}; "
            f"existing roles: {', '.join(existing) or '(none)'}"
        )
    return roles


def refuse_self_lockout(*, user: User, acting: User, what: str, field: str = "") -> None:
    """Nobody disables or deletes themselves: another admin must, so that one always remains.

    ``field`` names the form field the refusal belongs to, when there is one.
    """
    if user.id == acting.id:
        prefix = f"{field}: " if field else ""
        raise ConflictError(f"{prefix}you cannot {what} yourself; ask another admin")


def require_user(*, session: Session, username: str) -> User:
    """The user called ``username``; NotFoundError when there is none."""
    user = get_user(session=session, username=username)
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def set_password(*, session: Session, user: User, password: str) -> None:
    """Change ``user``'s password and revoke every token issued to them."""
    user.password_hash = hash_password(password)
    forget_failures(session=session, username=user.username)
    revoke_tokens(user)
    session.flush()


def set_active(*, session: Session, user: User, active: bool) -> None:
    """Enable or disable ``user``; disabling revokes every token issued to them.

    ConflictError when that would disable the last active, unscoped admin.
    """
    if not user.is_active or active:
        user.is_active = active
        session.flush()
        return
    with keeping_an_admin(session=session):
        revoke_tokens(user)
        user.is_active = False


def set_roles(*, session: Session, user: User, role_names: Sequence[str]) -> None:
    """Replace ``user``'s roles (their tokens stay valid: permissions are read per request).

    ConflictError when that would leave no active, unscoped admin.
    """
    roles = roles_named(role_names, session=session)
    with keeping_an_admin(session=session):
        user.roles = roles


def delete_user(*, session: Session, user: User, acting: User | None = None) -> None:
    """Remove ``user`` (as ``acting``, who cannot remove themselves); their audit entries
    keep the username. ConflictError when they are the last active, unscoped admin."""
    if acting is not None:
        refuse_self_lockout(user=user, acting=acting, what="delete")
    with keeping_an_admin(session=session):
        session.delete(user)


def revoke_tokens(user: User) -> None:
    """Make every token issued to ``user`` so far invalid (they carry the old version)."""
    user.token_version = (user.token_version or 0) + 1


class Keep(Enum):
    """The value of a field that an update leaves as it is (None would clear it)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class UserChanges:
    """What to change about a user: None (KEEP for the fields None would clear) keeps it."""

    password: str | None = None
    role_names: Sequence[str] | None = None
    is_active: bool | None = None
    email: str | Keep | None = KEEP
    full_name: str | Keep | None = KEEP


def update_user(
    *, session: Session, user: User, acting: User, changes: UserChanges, field: str = ""
) -> User:
    """Apply ``changes`` to ``user`` as ``acting``; flushed, never committed.

    A new password or disabling revokes ``user``'s tokens at once. ConflictError when
    ``acting`` would disable themselves (``field`` names the form field the refusal
    belongs to) or no active, unscoped admin would remain.
    """
    if changes.is_active is False:
        refuse_self_lockout(user=user, acting=acting, what="disable", field=field)
    if changes.password is not None:
        set_password(session=session, user=user, password=changes.password)
    if changes.role_names is not None:
        set_roles(session=session, user=user, role_names=changes.role_names)
    if changes.is_active is not None:
        set_active(session=session, user=user, active=changes.is_active)
    if changes.email is not KEEP:
        user.email = changes.email
    if changes.full_name is not KEEP:
        user.full_name = changes.full_name
    session.flush()
    return user
