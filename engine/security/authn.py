"""Signing in: password checks with throttling, and which issued tokens still hold.

Throttling lives in the ``user`` row (``failed_logins``, ``locked_until``), so it holds
across webserver processes and restarts: after :data:`FREE_ATTEMPTS` failures in a row,
each further failure locks the account for :data:`LOCK_BASE` doubled per extra failure,
at most :data:`LOCK_MAX`; a success resets the count. A locked account refuses even the
right password until the lock ends.

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
from sqlalchemy.orm import Session

from engine.models import RevokedSession, User
from engine.security.passwords import hash_password, needs_rehash, verify_password
from engine.security.users import get_user

logger = logging.getLogger(__name__)

FREE_ATTEMPTS = 5
"""Failed sign-ins in a row before the account is locked for a while."""
LOCK_BASE = timedelta(seconds=30)
"""Lock after the first failure past :data:`FREE_ATTEMPTS`; doubles with each further one."""
LOCK_MAX = timedelta(minutes=15)
"""Longest lock."""


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
    """The outcome of :func:`attempt_login`; ``user`` is set on success."""

    outcome: LoginOutcome
    user: User | None = None
    retry_after: timedelta | None = None
    """How long a locked account stays locked."""


def attempt_login(*, session: Session, username: str, password: str, now: datetime) -> LoginResult:
    """Check ``password`` for ``username``, counting failures. Never commits: the caller
    commits whatever the outcome, so that failures are counted."""
    user = get_user(session=session, username=username)
    if user is None:
        verify_password(_dummy_hash(), password)
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if user.locked_until is not None and user.locked_until > now:
        return LoginResult(LoginOutcome.LOCKED, retry_after=user.locked_until - now)
    if not verify_password(user.password_hash, password):
        _count_failure(user, now)
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if not user.is_active:
        return LoginResult(LoginOutcome.DISABLED)
    _record_success(user, password, now)
    return LoginResult(LoginOutcome.SUCCESS, user=user)


def lock_duration(failed_logins: int) -> timedelta | None:
    """How long an account with ``failed_logins`` failures in a row is locked (None: not)."""
    extra = failed_logins - FREE_ATTEMPTS
    if extra < 0:
        return None
    lock: timedelta = LOCK_BASE * (2 ** min(extra, 20))
    return min(lock, LOCK_MAX)


def _count_failure(user: User, now: datetime) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    lock = lock_duration(user.failed_logins)
    if lock is not None:
        user.locked_until = now + lock
        logger.warning(
            "user %s locked for %s after %s failed sign-ins",
            user.username,
            lock,
            user.failed_logins,
        )


def _record_success(user: User, password: str, now: datetime) -> None:
    user.failed_logins = 0
    user.locked_until = None
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


def token_user(
    *, session: Session, user_id: int, token_version: int, session_id: str
) -> User | None:
    """The user a token names, or None when the token no longer holds."""
    user = session.get(User, user_id)
    if user is None or not user.is_active or user.token_version != token_version:
        return None
    if session.get(RevokedSession, session_id) is not None:
        return None
    return user


def prune_revoked_sessions(*, session: Session, now: datetime) -> int:
    """Delete revocations whose tokens have expired anyway; how many were deleted."""
    result = session.execute(sa.delete(RevokedSession).where(RevokedSession.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)
