"""Creating, listing and changing users; the CLI, the API and the UI call these.

A change that would leave no active Admin seeing every DAG is refused
(:mod:`engine.security.admins`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import Role, User
from engine.security.admins import keeping_an_admin
from engine.security.passwords import hash_password
from engine.security.throttle import forget_failures

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
    return list(session.scalars(sa.select(User).order_by(User.username)))


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


def delete_user(*, session: Session, user: User) -> None:
    """Remove ``user``; their audit entries keep the username. ConflictError when they
    are the last active, unscoped admin."""
    with keeping_an_admin(session=session):
        session.delete(user)


def revoke_tokens(user: User) -> None:
    """Make every token issued to ``user`` so far invalid (they carry the old version)."""
    user.token_version = (user.token_version or 0) + 1
