"""``POST /auth/token`` (and ``/auth/token/cli``, airflowctl's): a username and password
for a JWT, the access token ``/api/v2`` takes as Bearer, as Airflow 3's auth manager does."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields

from webui.api.schemas.security import LoginSchema
from webui.api.v2.common import v2_blueprint
from webui.auth import issue_tokens, public
from webui.auth.login import check_credentials

blp = v2_blueprint("auth", "/auth", "Login", root="")


class TokenSchema(ma.Schema):
    access_token = fields.String(required=True)


@blp.route("/token", methods=["POST"])
@public
@blp.arguments(LoginSchema)
@blp.response(201, TokenSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def token(body: dict[str, Any]) -> Any:
    """Exchange a username and password for an access token."""
    return _token(body)


@blp.route("/token/cli", methods=["POST"])
@public
@blp.arguments(LoginSchema)
@blp.response(201, TokenSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def token_cli(body: dict[str, Any]) -> Any:
    """The same for airflowctl (Airflow gives the CLI a longer-lived token; Loom does not)."""
    return _token(body)


def _token(body: dict[str, Any]) -> dict[str, str]:
    user = check_credentials(body["username"], body["password"])
    return {"access_token": issue_tokens(user).access_token}
