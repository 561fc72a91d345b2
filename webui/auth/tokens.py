"""JWTs: issuing access and refresh tokens, and refusing every token that no longer holds.

A token names its user (``sub``), the user's ``token_version`` when it was issued
(``ver``) and its sign-in (``sid``, shared by the access and refresh tokens of one
login). On every request :func:`engine.security.authn.token_holder` checks all three
against the database, so a logout, a password change or a disabled user takes effect at
once, across webserver processes and restarts. Only HS256 is accepted: a token signed
otherwise, with ``alg: none``, tampered with or expired is refused with 401.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, Response, g
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token

from engine.config import Settings
from engine.models import User
from engine.security.authn import token_holder
from webui import db
from webui.auth.secret_key import check_secret
from webui.errors import error_response

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenPair:
    """What a successful login returns."""

    access_token: str
    refresh_token: str
    session_id: str


def init_app(app: Flask, settings: Settings) -> None:
    """Configure flask-jwt-extended on ``app`` with Loom's claims and checks."""
    web = settings.webserver
    app.config.update(
        JWT_SECRET_KEY=check_secret(web.secret_key),
        JWT_ALGORITHM=ALGORITHM,
        JWT_DECODE_ALGORITHMS=[ALGORITHM],
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ACCESS_TOKEN_EXPIRES=web.access_token_ttl,
        JWT_REFRESH_TOKEN_EXPIRES=web.refresh_token_ttl,
        JWT_ERROR_MESSAGE_KEY="message",
    )
    manager = JWTManager(app)
    manager.token_in_blocklist_loader(_revoked)
    manager.user_lookup_loader(lambda _header, _payload: g.get("loom_token_user"))
    manager.user_lookup_error_loader(lambda _header, _payload: _unauthorized("token revoked"))
    manager.expired_token_loader(lambda _header, _payload: _unauthorized("token has expired"))
    manager.invalid_token_loader(lambda reason: _unauthorized(f"invalid token: {reason}"))
    manager.unauthorized_loader(lambda reason: _unauthorized(f"missing token: {reason}"))
    manager.revoked_token_loader(lambda _header, _payload: _unauthorized("token revoked"))
    manager.needs_fresh_token_loader(lambda _header, _payload: _unauthorized("fresh token needed"))
    manager.token_verification_failed_loader(
        lambda _header, _payload: _unauthorized("token refused")
    )


def issue_tokens(user: User) -> TokenPair:
    """A new sign-in for ``user``: an access token and a refresh token sharing its id."""
    session_id = uuid.uuid4().hex
    claims = _claims(user, session_id)
    return TokenPair(
        access_token=create_access_token(identity=str(user.id), additional_claims=claims),
        refresh_token=create_refresh_token(identity=str(user.id), additional_claims=claims),
        session_id=session_id,
    )


def refreshed_access_token(user: User, payload: dict[str, Any]) -> str:
    """A new access token of the same sign-in as the refresh token ``payload``."""
    claims = _claims(user, str(payload["sid"]))
    token: str = create_access_token(identity=str(user.id), additional_claims=claims)
    return token


def expiry(payload: dict[str, Any]) -> datetime:
    """When the token ``payload`` expires."""
    from datetime import UTC

    return datetime.fromtimestamp(int(payload["exp"]), UTC)


def _claims(user: User, session_id: str) -> dict[str, Any]:
    return {"ver": user.token_version, "sid": session_id, "name": user.username}


def _revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    """True when the token no longer holds; otherwise its user is kept for the request."""
    try:
        user_id, version, session_id = int(payload["sub"]), payload["ver"], str(payload["sid"])
    except (KeyError, TypeError, ValueError):
        return True
    if not isinstance(version, int):
        return True
    holder = token_holder(
        session=db.session(), user_id=user_id, token_version=version, session_id=session_id
    )
    if holder is None:
        return True
    g.loom_token_user = holder.user
    g.loom_token_access = holder.access
    return False


def _unauthorized(message: str) -> Response:
    return error_response(401, message, headers={"WWW-Authenticate": "Bearer"})
