"""``/auth``: log in (tokens), refresh, log out (revokes), who am I."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_jwt_extended import current_user, get_jwt

from webui.api.blueprint import api_blueprint
from webui.api.schemas.common import MessageSchema
from webui.api.schemas.security import AccessTokenSchema, LoginSchema, MeSchema, TokensSchema
from webui.auth import authenticated, issue_tokens, public, refresh_token_required
from webui.auth.login import check_credentials, end_sign_in
from webui.auth.rbac import current_access
from webui.auth.tokens import refreshed_access_token

blp = api_blueprint("auth", "/auth", "Authentication")


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
    user = check_credentials(body["username"], body["password"])
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
    end_sign_in(get_jwt(), current_user.id)
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
