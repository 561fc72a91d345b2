"""Signing in: password checks with throttling, and which issued tokens still hold.

A sign-in is two steps with a commit between them (:mod:`engine.security.throttle`
explains why): :func:`begin_login` counts the attempt of this username from this
client address and refuses it while that pair, or the username for every address, is
locked; :func:`finish_login` checks the password and counts the outcome. An unknown
username goes through the same steps, counts and hashing (a dummy hash), and gets the
same answer as a wrong password, so that neither the answer, its time nor a lock tells
whether an account exists.

A token stays valid while its user exists and is active, its ``token_version`` is the
user's current one (a password change or a disable bumps it) and its sign-in was not
revoked by a logout (:class:`~engine.models.RevokedSession`).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session, lazyload

from engine.config import LoginSettings
from engine.models import Permission, RevokedSession, Role, User
from engine.models.security import role_permission, user_role
from engine.security import throttle
from engine.security.access import Access, access_from
from engine.security.passwords import hash_password, needs_rehash, verify_password
from engine.security.users import get_user

logger = logging.getLogger(__name__)

SHORTEST_RETRY = timedelta(seconds=1)
"""A locked attempt is never told to retry sooner than this."""


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so that they take as long as known ones."""
    return hash_password("not-a-real-password")


class LoginOutcome(StrEnum):
    """How a sign-in attempt ended."""

    SUCCESS = "success"
    BAD_CREDENTIALS = "bad_credentials"
    DISABLED = "disabled"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a sign-in attempt; ``user`` is set on success."""

    outcome: LoginOutcome
    user: User | None = None
    retry_after: timedelta | None = None
    """How long a locked attempt should wait."""


def begin_login(
    *, session: Session, username: str, client: str, now: datetime, settings: LoginSettings
) -> LoginResult | None:
    """Count an attempt of ``username`` from address ``client``; a LOCKED result when it is
    refused (its password must not be checked), else None. Never commits: the caller
    commits, then calls :func:`finish_login`."""
    until = throttle.reserve_attempt(
        session=session, username=username, client=client, now=now, settings=settings
    )
    if until is None:
        return None
    return LoginResult(LoginOutcome.LOCKED, retry_after=max(until - now, SHORTEST_RETRY))


def finish_login(
    *,
    session: Session,
    username: str,
    password: str,
    client: str,
    now: datetime,
    settings: LoginSettings,
) -> LoginResult:
    """Check ``password`` for ``username`` and count the outcome. Never commits: the
    caller commits whatever the outcome, so that failures are counted."""
    user = get_user(session=session, username=username)
    right = verify_password(user.password_hash if user else _dummy_hash(), password)
    throttle.prune_failures(session=session, now=now, settings=settings)
    if user is None or not right or not user.is_active:
        throttle.record_failure(session=session, username=username, now=now, settings=settings)
        outcome = LoginOutcome.DISABLED if user and right else LoginOutcome.BAD_CREDENTIALS
        return LoginResult(outcome)
    throttle.record_success(session=session, username=username, client=client)
    _record_success(user, password, now)
    return LoginResult(LoginOutcome.SUCCESS, user=user)


def _record_success(user: User, password: str, now: datetime) -> None:
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)


def revoke_session(
    *, session: Session, session_id: str, user_id: int | None, expires_at: datetime
) -> None:
    """Refuse every token of sign-in ``session_id`` from now on. Idempotent."""
    if session.get(RevokedSession, session_id) is None:
        session.add(RevokedSession(session_id=session_id, user_id=user_id, expires_at=expires_at))
        session.flush()


@dataclass(frozen=True)
class TokenHolder:
    """The user a valid token names, and what their roles allow."""

    user: User
    access: Access


def token_holder(
    *, session: Session, user_id: int, token_version: int, session_id: str
) -> TokenHolder | None:
    """The user a token names with their access, or None when the token no longer holds.

    One statement per request, read afresh each time (no cache, so no window): a logout,
    a password change, a disabled user or a changed role or permission takes effect at
    the next request, in every webserver process. The grants come as plain rows (one per
    permission of each role), not as ORM objects: building Role and Permission objects
    took most of the time of a small request.
    """
    revoked = sa.exists().where(RevokedSession.session_id == session_id)
    stmt = (
        sa.select(User, revoked, Role.dag_tags, Permission.action, Permission.resource)
        .outerjoin(user_role, user_role.c.user_id == User.id)
        .outerjoin(Role, Role.id == user_role.c.role_id)
        .outerjoin(role_permission, role_permission.c.role_id == Role.id)
        .outerjoin(Permission, Permission.id == role_permission.c.permission_id)
        .where(User.id == user_id)
        .options(lazyload(User.roles))
    )
    rows = session.execute(stmt).all()
    if not rows:
        return None
    user, is_revoked = rows[0][0], rows[0][1]
    if is_revoked or not user.is_active or user.token_version != token_version:
        return None
    grants = [(tags, action, resource) for _, _, tags, action, resource in rows if action]
    return TokenHolder(user=user, access=access_from(grants))


def token_user(
    *, session: Session, user_id: int, token_version: int, session_id: str
) -> User | None:
    """The user a token names, or None when the token no longer holds (:func:`token_holder`)."""
    holder = token_holder(
        session=session, user_id=user_id, token_version=token_version, session_id=session_id
    )
    return None if holder is None else holder.user


def prune_revoked_sessions(*, session: Session, now: datetime) -> int:
    """Delete revocations whose tokens have expired anyway; how many were deleted."""
    result = session.execute(sa.delete(RevokedSession).where(RevokedSession.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)
