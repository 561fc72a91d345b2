"""``/auth``: log in (tokens), refresh, log out (revokes), who am I (the logic is
``/api/v2``'s, :mod:`webui.api.v2.auth`)."""

from __future__ import annotations

from typing import Any

from flask_jwt_extended import current_user

from webui.api.blueprint import api_blueprint
from webui.api.schemas.common import MessageSchema
from webui.api.schemas.security import AccessTokenSchema, LoginSchema, MeSchema, TokensSchema
from webui.api.v2.auth import me_of, refreshed, signed_in, signed_out
from webui.auth import authenticated, public, refresh_token_required

blp = api_blueprint("auth", "/auth", "Authentication")


@blp.route("/login", methods=["POST"])
@public
@blp.arguments(LoginSchema)
@blp.response(200, TokensSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def login(body: dict[str, Any]) -> Any:
    """Exchange a username and password for an access token and a refresh token."""
    return signed_in(body)


@blp.route("/refresh", methods=["POST"])
@refresh_token_required
@blp.response(200, AccessTokenSchema)
def refresh() -> Any:
    """Exchange a refresh token (as the bearer token) for a new access token."""
    return refreshed()


@blp.route("/logout", methods=["POST"])
@authenticated
@blp.response(200, MessageSchema)
def logout() -> Any:
    """Revoke this sign-in: its access token and its refresh token stop working at once."""
    return signed_out()


@blp.route("/me", methods=["GET"])
@authenticated
@blp.response(200, MeSchema)
def me() -> Any:
    """The signed-in user, their roles and permissions."""
    return me_of(current_user)
