"""``/auth``: log in (tokens), refresh, log out (revokes), who am I."""

from __future__ import annotations

import math
from typing import Any

from flask import current_app, g
from flask_jwt_extended import current_user, get_jwt
from flask_smorest import Blueprint
from werkzeug.exceptions import TooManyRequests, Unauthorized

from engine.models import utcnow
from engine.security.authn import (
    LoginOutcome,
    attempt_login,
    prune_revoked_sessions,
    revoke_session,
)
from webui import db
from webui.api.schemas.common import MessageSchema
from webui.api.schemas.security import AccessTokenSchema, LoginSchema, MeSchema, TokensSchema
from webui.audit import note
from webui.auth import authenticated, issue_tokens, public, refresh_token_required
from webui.auth.rbac import current_access
from webui.auth.tokens import expiry, refreshed_access_token

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Authentication")


def _access_seconds() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())


@blp.route("/login", methods=["POST"])
@public
@blp.arguments(LoginSchema)
@blp.response(200, TokensSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def login(body: dict[str, Any]) -> Any:
    """Exchange a username and password for an access token and a refresh token."""
    result = attempt_login(
        session=db.session(), username=body["username"], password=body["password"], now=utcnow()
    )
    db.commit()  # failures count, whatever the outcome
    user = result.user
    note(
        username=body["username"],
        user_id=user.id if user else None,
        details={"login": result.outcome.value},
    )
    if result.outcome is LoginOutcome.LOCKED and result.retry_after is not None:
        seconds = math.ceil(result.retry_after.total_seconds())
        error = TooManyRequests(f"too many failed sign-ins; try again in {seconds} s")
        error.data = {"headers": {"Retry-After": str(seconds)}}  # type: ignore[attr-defined]
        raise error
    if user is None:
        raise Unauthorized("invalid username or password")
    tokens = issue_tokens(user)
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "token_type": "Bearer",
        "expires_in": _access_seconds(),
    }


@blp.route("/refresh", methods=["POST"])
@refresh_token_required
@blp.response(200, AccessTokenSchema)
def refresh() -> Any:
    """Exchange a refresh token (as the bearer token) for a new access token."""
    g.loom_user = current_user
    token = refreshed_access_token(current_user, get_jwt())
    return {"access_token": token, "token_type": "Bearer", "expires_in": _access_seconds()}


@blp.route("/logout", methods=["POST"])
@authenticated
@blp.response(200, MessageSchema)
def logout() -> Any:
    """Revoke this sign-in: its access token and its refresh token stop working at once."""
    payload = get_jwt()
    refresh_ttl = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    revoke_session(
        session=db.session(),
        session_id=str(payload["sid"]),
        user_id=current_user.id,
        expires_at=expiry(payload) + refresh_ttl,
    )
    prune_revoked_sessions(session=db.session(), now=utcnow())  # keeps the table small
    db.commit()
    return {"message": "signed out"}


@blp.route("/me", methods=["GET"])
@authenticated
@blp.response(200, MeSchema)
def me() -> Any:
    """The signed-in user, their roles and permissions."""
    user = current_user
    permissions = sorted(f"{action}:{resource}" for action, resource in current_access().grants)
    fields = ("id", "username", "email", "full_name", "is_active", "created_at", "last_login_at")
    return {
        **{name: getattr(user, name) for name in fields},
        "roles": user.roles,
        "permissions": permissions,
    }
