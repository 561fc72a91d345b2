"""Failed sign-ins, counted atomically per username: from each client address, and from all.

A username (as typed, whether or not such a user exists: an unknown username is
throttled exactly like a known one) has rows in ``login_failure``
(:class:`~engine.models.LoginFailure`):

* ``(username, address)``: attempts in a row that did not succeed. The attempt that
  reaches ``login.free_failures`` locks the address out of the username for
  ``login.lock_base``, doubled by each further one, at most ``login.lock_max``. A
  success forgets the row, and so does ``login.forget_after`` without attempts. An
  attacker so locks out their own address only, never the owner signing in from another.
* ``(username, "*")``: failed passwords from every address within
  ``login.account_window``; reaching ``login.account_failures`` locks the username for
  every address for ``login.account_lock``: a short cap on guessing from many
  addresses at once (docs/decisions.md weighs it against lock-outs).

Each count is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` (PostgreSQL and
SQLite alike), so concurrent attempts never lose one. An address's attempt is counted
*before* its password is checked (:func:`reserve_attempt`; the caller commits before
checking), so that however many requests arrive at once, no more than
``free_failures`` passwords are checked before the lock holds.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.config import LoginSettings
from engine.models import LoginFailure
from engine.models.base import dialect_insert
from engine.models.dags import ID_LENGTH
from engine.models.security import CLIENT_LENGTH

logger = logging.getLogger(__name__)

EVERY_ADDRESS = "*"
"""The ``client`` of a username's row that counts failures from every address."""

_TABLE = LoginFailure.__table__
_KEY = [_TABLE.c.username, _TABLE.c.client]


def reserve_attempt(
    *, session: Session, username: str, client: str, now: datetime, settings: LoginSettings
) -> datetime | None:
    """Count an attempt of ``username`` from address ``client`` before its password is
    checked. The end of the lock that refuses it, or None when it may go on (the caller
    commits, then checks the password). Never commits."""
    username, client = _key(username), client[:CLIENT_LENGTH]
    account_lock = _lock_of(session, username, EVERY_ADDRESS, now)
    if account_lock is not None:
        return account_lock
    attempts = _count(
        session,
        username,
        client,
        now,
        restart=_TABLE.c.last_at < now - settings.forget_after,
        unless_locked=True,
    )
    if attempts is None:  # locked: not counted, the password is not checked
        return _lock_of(session, username, client, now) or now
    lock = lock_duration(attempts, settings)
    if lock is not None:  # held from now on, so that concurrent attempts are refused
        _lock(session, username, client, now + lock)
        logger.warning("sign-ins of %r from %s locked for %s", username, client, lock)
    return None


def record_failure(
    *, session: Session, username: str, now: datetime, settings: LoginSettings
) -> None:
    """Count a failed password of ``username`` towards the cap of every address. Never commits."""
    username = _key(username)
    window_over = _TABLE.c.first_at < now - settings.account_window
    failures = _count(session, username, EVERY_ADDRESS, now, restart=window_over)
    if failures is not None and failures >= settings.account_failures:
        _lock(session, username, EVERY_ADDRESS, now + settings.account_lock)
        logger.warning(
            "sign-ins of %r locked for %s for every address after %s failures",
            username,
            settings.account_lock,
            failures,
        )


def record_success(*, session: Session, username: str, client: str) -> None:
    """Forget the attempts of ``username`` from ``client`` (others' stay). Never commits."""
    session.execute(
        sa.delete(LoginFailure).where(
            LoginFailure.username == _key(username), LoginFailure.client == client[:CLIENT_LENGTH]
        )
    )


def forget_failures(*, session: Session, username: str) -> None:
    """Forget every count and lock of ``username`` (a new password was set). Never commits."""
    session.execute(sa.delete(LoginFailure).where(LoginFailure.username == _key(username)))


def locked_until(*, session: Session, username: str, now: datetime) -> datetime | None:
    """Until when ``username`` is locked for every address (None: it is not)."""
    return _lock_of(session, _key(username), EVERY_ADDRESS, now)


def prune_failures(*, session: Session, now: datetime, settings: LoginSettings) -> int:
    """Delete counts no longer needed (idle past both windows, not locked); how many."""
    idle = now - max(settings.forget_after, settings.account_window)
    result = session.execute(
        sa.delete(LoginFailure).where(
            LoginFailure.last_at < idle,
            sa.or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < now),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def lock_duration(attempts: int, settings: LoginSettings) -> timedelta | None:
    """How long an address is locked out of a username after ``attempts`` (None: not)."""
    extra = attempts - settings.free_failures
    if extra < 0:
        return None
    lock: timedelta = settings.lock_base * (2 ** min(extra, 20))
    return min(lock, settings.lock_max)


def _key(username: str) -> str:
    """The username as counted: as typed, cut to the longest a username may be."""
    return username[:ID_LENGTH]


def _count(
    session: Session,
    username: str,
    client: str,
    now: datetime,
    *,
    restart: sa.ColumnElement[bool],
    unless_locked: bool = False,
) -> int | None:
    """Add one to the row's count (1 when new, or when ``restart`` holds) in one statement;
    the new count, or None when ``unless_locked`` and the row is locked (nothing counted)."""
    moment = sa.literal(now, _TABLE.c.last_at.type)
    insert: Any = dialect_insert(session)(_TABLE).values(
        username=username, client=client, failures=1, first_at=now, last_at=now
    )
    still_locked = _TABLE.c.locked_until > moment
    stmt = insert.on_conflict_do_update(
        index_elements=_KEY,
        set_={
            "failures": sa.case((restart, 1), else_=_TABLE.c.failures + 1),
            "first_at": sa.case((restart, moment), else_=_TABLE.c.first_at),
            "last_at": moment,
        },
        where=sa.or_(_TABLE.c.locked_until.is_(None), ~still_locked) if unless_locked else None,
    ).returning(_TABLE.c.failures)
    count: int | None = session.execute(stmt).scalar_one_or_none()
    return count


def _lock(session: Session, username: str, client: str, until: datetime) -> None:
    session.execute(
        sa.update(LoginFailure)
        .where(LoginFailure.username == username, LoginFailure.client == client)
        .values(locked_until=until)
    )


def _lock_of(session: Session, username: str, client: str, now: datetime) -> datetime | None:
    until: datetime | None = session.scalar(
        sa.select(LoginFailure.locked_until).where(
            LoginFailure.username == username,
            LoginFailure.client == client,
            LoginFailure.locked_until > now,
        )
    )
    return until
