"""Signing in and out: checking a password, revoking a sign-in; for the API and the UI alike."""

from __future__ import annotations

from typing import Any

from flask import current_app
from werkzeug.exceptions import Unauthorized

from engine.models import User
from engine.security.authn import (
    LoginOutcome,
    begin_login,
    finish_login,
    prune_revoked_sessions,
    revoke_session,
)
from engine.services.audit import Outcome
from engine.timeutil import utcnow
from webui import db
from webui.audit import note
from webui.auth.throttle import client_address, too_many_attempts
from webui.auth.tokens import expiry


def check_credentials(username: str, password: str) -> User:
    """The user, when the password is right and the account usable; else Unauthorized, or
    TooManyRequests (with Retry-After) while this username is locked for this client
    address or for all. Every attempt is counted (committed, before and after the password
    is checked) and named in the request's audit entry, written with the final count."""
    settings = current_app.extensions["loom.settings"].login
    session, now, client = db.session(), utcnow(), client_address()
    result = begin_login(
        session=session, username=username, client=client, now=now, settings=settings
    )
    # The attempt counts before its password is checked, so that concurrent ones see it.
    # Bookkeeping, not the request's change: the audit entry joins the commit below, once
    # the outcome is known.
    session.commit()
    if result is None:
        result = finish_login(
            session=session,
            username=username,
            password=password,
            client=client,
            now=now,
            settings=settings,
        )
    user = result.user
    note(
        username=username,
        user_id=user.id if user else None,
        details={"login": result.outcome.value},
        outcome=Outcome.SUCCESS if result.outcome is LoginOutcome.SUCCESS else Outcome.DENIED,
    )
    db.commit()  # failures count, whatever the outcome, with their audit entry
    if result.outcome is LoginOutcome.LOCKED and result.retry_after is not None:
        raise too_many_attempts(result.retry_after.total_seconds())
    if user is None:
        raise Unauthorized("invalid username or password")
    return user


def end_sign_in(payload: dict[str, Any], user_id: int) -> None:
    """Revoke the sign-in of token ``payload``: its access and refresh tokens stop working."""
    revoke_session(
        session=db.session(),
        session_id=str(payload["sid"]),
        user_id=user_id,
        expires_at=expiry(payload) + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
    )
    prune_revoked_sessions(session=db.session(), now=utcnow())  # keeps the table small
    db.commit()
