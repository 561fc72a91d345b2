"""Signing in and out: checking a password, revoking a sign-in; for the API and the UI alike."""

from __future__ import annotations

import math
from typing import Any

from flask import current_app
from werkzeug.exceptions import TooManyRequests, Unauthorized

from engine.audit import Outcome
from engine.models import User, utcnow
from engine.security.authn import (
    LoginOutcome,
    attempt_login,
    prune_revoked_sessions,
    revoke_session,
)
from webui import db
from webui.audit import note
from webui.auth.tokens import expiry


def check_credentials(username: str, password: str) -> User:
    """The user, when the password is right and the account usable; else Unauthorized, or
    TooManyRequests (with Retry-After) for a locked account. Every attempt is counted
    (committed) and named in the request's audit entry."""
    result = attempt_login(session=db.session(), username=username, password=password, now=utcnow())
    user = result.user
    note(
        username=username,
        user_id=user.id if user else None,
        details={"login": result.outcome.value},
        outcome=Outcome.SUCCESS if result.outcome is LoginOutcome.SUCCESS else Outcome.DENIED,
    )
    db.commit()  # failures count, whatever the outcome, with their audit entry
    if result.outcome is LoginOutcome.LOCKED and result.retry_after is not None:
        seconds = math.ceil(result.retry_after.total_seconds())
        error = TooManyRequests(f"too many failed sign-ins; try again in {seconds} s")
        error.data = {"headers": {"Retry-After": str(seconds)}}  # type: ignore[attr-defined]
        raise error
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
