"""``POST /auth/token`` (and ``/auth/token/cli``, airflowctl's): a username and password
for a JWT, the access token ``/api/v2`` takes as Bearer, as Airflow 3's auth manager does.

Loom adds what its sign-ins have (Airflow's clients read ``access_token`` only): the
token answer also carries a ``refresh_token``, and beside it ``POST /auth/refresh`` (a
refresh token as Bearer, for a new access token), ``POST /auth/logout`` (revokes this
sign-in's tokens at once) and ``GET /auth/me`` (the signed-in user, roles, permissions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, g
from flask_jwt_extended import current_user, get_jwt

from engine.models import User
from webui.api.blueprint import F
from webui.api.schemas.common import MessageSchema
from webui.api.schemas.security import AccessTokenSchema, LoginSchema, MeSchema, TokensSchema
from webui.api.v2.common import v2_blueprint
from webui.auth import authenticated, issue_tokens, public, refresh_token_required
from webui.auth.login import check_credentials, end_sign_in
from webui.auth.rbac import current_access
from webui.auth.tokens import refreshed_access_token

blp = v2_blueprint("auth", "/auth", "Login", root="")

TOKEN_TYPE = "Bearer"
ME_FIELDS = ("id", "username", "email", "full_name", "is_active", "created_at", "last_login_at")


def signed_in(body: dict[str, Any]) -> dict[str, Any]:
    """The tokens of a sign-in with the body's username and password (checked, throttled
    and audited by :func:`check_credentials`)."""
    tokens = issue_tokens(check_credentials(body["username"], body["password"]))
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "token_type": TOKEN_TYPE,
        "expires_in": _access_seconds(),
    }


def refreshed() -> dict[str, Any]:
    """A new access token for the bearer of a valid refresh token."""
    g.loom_user = current_user
    token = refreshed_access_token(current_user, get_jwt())
    return {"access_token": token, "token_type": TOKEN_TYPE, "expires_in": _access_seconds()}


def signed_out() -> dict[str, str]:
    """Revoke the bearer's sign-in: its access and refresh tokens stop working at once."""
    end_sign_in(get_jwt(), current_user.id)
    return {"message": "signed out"}


def me_of(user: User) -> dict[str, Any]:
    """The signed-in ``user``, their roles and permissions (``action:resource``)."""
    permissions = sorted(f"{action}:{resource}" for action, resource in current_access().grants)
    return {
        **{name: getattr(user, name) for name in ME_FIELDS},
        "roles": user.roles,
        "permissions": permissions,
    }


def _access_seconds() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())


def sign_in_operation(rule: str) -> Callable[[F], F]:
    """``POST rule`` for anyone: a username and password (:class:`LoginSchema`) for tokens
    (201), or 401 (wrong) or 429 (too many tries)."""

    def decorate(view: F) -> F:
        view = blp.alt_response(429, response="TOO_MANY_REQUESTS")(view)
        view = blp.alt_response(401, response="UNAUTHORIZED")(view)
        view = blp.response(201, TokensSchema)(view)
        view = blp.arguments(LoginSchema)(view)
        return blp.route(rule, methods=["POST"])(public(view))  # type: ignore[no-any-return]

    return decorate


@sign_in_operation("/token")
def token(body: dict[str, Any]) -> Any:
    """Exchange a username and password for an access token (and a refresh token)."""
    return signed_in(body)


@sign_in_operation("/token/cli")
def token_cli(body: dict[str, Any]) -> Any:
    """The same for airflowctl (Airflow gives the CLI a longer-lived token; Loom does not)."""
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
