"""Who is signed in to the web UI, and the guards of its pages and forms.

The UI keeps the same JWTs as the API, in HttpOnly cookies (``SameSite=Lax``, and
``Secure`` when the request came over HTTPS, directly or through a trusted proxy, or
``webserver.base_url`` is https: :func:`cookies_secure`): the access token, and the
refresh token that renews an expired access token on the next page. Flask's own session
cookie (flash messages) follows the same rule (:class:`LoomSessionInterface`). Every
check of the API applies (signature, expiry, revoked sign-in, disabled user, changed
password), through :func:`engine.security.authn.token_holder`. The API itself reads tokens from the
``Authorization`` header only, so a cookie never authorizes an API call.

Every form and action carries a CSRF token: an HMAC of the sign-in id (stable while the
sign-in lasts, whatever the token refreshes) or, before signing in, of a random
pre-login cookie. A state-changing request without the right token is refused (400)
before its view runs.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_jwt_extended import decode_token
from jwt.exceptions import ExpiredSignatureError, InvalidTokenError
from werkzeug.exceptions import BadRequest, Forbidden

from engine.models import Dag, User
from engine.security.access import Access
from engine.security.authn import TokenHolder, token_holder
from engine.security.roles import Action, Resource
from webui import db
from webui.auth.rbac import ATTRIBUTE, AUTHENTICATED
from webui.auth.scope import allows_dag
from webui.auth.tokens import TokenPair, refreshed_access_token

F = TypeVar("F", bound=Callable[..., Any])

ACCESS_COOKIE = "loom_access"
REFRESH_COOKIE = "loom_refresh"
PRELOGIN_COOKIE = "loom_prelogin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def load_sign_in() -> None:
    """Find the signed-in user from the cookies (renewing an expired access token)."""
    g.loom_user = None
    payload = _valid_access_payload()
    if payload is None:
        return
    holder = _holder_of(payload)
    if holder is None:
        return
    g.loom_user = holder.user
    g.loom_access = holder.access
    g.loom_sign_in = payload


def check_csrf() -> None:
    """Refuse a state-changing request whose CSRF token is missing or wrong."""
    if request.method in SAFE_METHODS:
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not hmac.compare_digest(sent, csrf_token()):
        raise BadRequest(
            "the form was refused: its CSRF token is missing or out of date; "
            "reload the page and try again"
        )


def csrf_token() -> str:
    """The CSRF token forms of this page carry."""
    sign_in = g.get("loom_sign_in")
    basis = f"sid:{sign_in['sid']}" if sign_in else f"pre:{_prelogin_nonce()}"
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, basis.encode(), hashlib.sha256).hexdigest()


def current_user() -> User | None:
    return cast("User | None", g.get("loom_user"))


def can(action: Action | str, resource: Resource | str, dag: Dag | None = None) -> bool:
    """Whether the signed-in user may ``action`` ``resource`` (of ``dag``, within its tags'
    scope, when given): pages hide what the user may not do."""
    access = cast("Access | None", g.get("loom_access"))
    if access is None:
        return False
    if dag is None:
        return access.allows(Action(action), Resource(resource))
    return allows_dag(dag, Action(action), Resource(resource))


def page(action: Action | None = None, resource: Resource | None = None) -> Callable[[F], F]:
    """Guard a view: signed in (else to the login page), and allowed ``action`` on
    ``resource`` when given (else 403). Sets the permission the scope helpers read, and
    declares it as an API view does (:func:`webui.auth.declared_permission` reads it)."""
    declared = AUTHENTICATED if action is None or resource is None else f"{action}:{resource}"

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.get("loom_user") is None:
                target = request.full_path if request.method == "GET" else request.referrer
                return redirect(url_for("ui.login", next=safe_next(target)))
            if action is not None and resource is not None:
                if not can(action, resource):
                    raise Forbidden(f"your roles do not allow {action.value} on {resource.value}")
                g.loom_permission = (action, resource)
            return view(*args, **kwargs)

        setattr(wrapper, ATTRIBUTE, declared)
        return cast(F, wrapper)

    return decorate


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site (never another host), else None."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return None
    return target.rstrip("?")


def sign_in(response: Response, tokens: TokenPair) -> None:
    """Put a new sign-in's tokens into the response's cookies."""
    lasting = int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds())
    for name, value in (
        (ACCESS_COOKIE, tokens.access_token),
        (REFRESH_COOKIE, tokens.refresh_token),
    ):
        _set_cookie(response, name, value, max_age=lasting)
    _delete_cookie(response, PRELOGIN_COOKIE)


def sign_out(response: Response) -> None:
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        _delete_cookie(response, name)


def cookies_secure() -> bool:
    """Whether cookies are marked ``Secure``: the request came over HTTPS (directly, or
    through a proxy ``webserver.proxy_fix`` trusts), or ``webserver.base_url`` is https."""
    return request.is_secure or bool(current_app.config["LOOM_SECURE_COOKIES"])


class LoomSessionInterface(SecureCookieSessionInterface):
    """Flask's signed session cookie (it carries flash messages) on Loom's cookie terms."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return cookies_secure()

    def get_cookie_samesite(self, app: Flask) -> str:
        return "Lax"


def store_cookies(response: Response) -> Response:
    """After a UI request: keep a renewed access token and the pre-login nonce."""
    renewed = g.pop("loom_renewed_access", None)
    if renewed is not None:
        lasting = int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds())
        _set_cookie(response, ACCESS_COOKIE, renewed, max_age=lasting)
    nonce = g.pop("loom_new_prelogin", None)
    if nonce is not None:
        _set_cookie(response, PRELOGIN_COOKIE, nonce, max_age=3600)
    return response


def _valid_access_payload() -> dict[str, Any] | None:
    token = request.cookies.get(ACCESS_COOKIE)
    if not token:
        return None
    try:
        return _decoded(token, "access")
    except ExpiredSignatureError:
        return _renewed_access_payload()
    except InvalidTokenError:
        return None


def _renewed_access_payload() -> dict[str, Any] | None:
    """The expired access token's sign-in renewed with the refresh token, when it holds."""
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        return None
    try:
        refresh = _decoded(token, "refresh")
    except InvalidTokenError:
        return None
    holder = _holder_of(refresh)
    if holder is None:
        return None
    user = holder.user
    renewed = refreshed_access_token(user, refresh)
    g.loom_renewed_access = renewed
    return _decoded(renewed, "access")


def _holder_of(payload: dict[str, Any]) -> TokenHolder | None:
    """The user a token names and their access, while the token holds (not revoked, same
    password)."""
    return token_holder(
        session=db.session(),
        user_id=int(payload["sub"]),
        token_version=payload["ver"],
        session_id=str(payload["sid"]),
    )


def _decoded(token: str, kind: str) -> dict[str, Any]:
    payload = cast("dict[str, Any]", decode_token(token))
    if payload.get("type") != kind or not isinstance(payload.get("ver"), int):
        raise InvalidTokenError(f"not a Loom {kind} token")
    if not str(payload.get("sub", "")).isdigit() or "sid" not in payload:
        raise InvalidTokenError(f"not a Loom {kind} token")
    return payload


def _prelogin_nonce() -> str:
    nonce = request.cookies.get(PRELOGIN_COOKIE) or g.get("loom_new_prelogin")
    if not nonce:
        nonce = secrets.token_urlsafe(24)
        g.loom_new_prelogin = nonce
    return nonce


def _set_cookie(response: Response, name: str, value: str, *, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=cookies_secure(),
        path="/",
    )


def _delete_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=cookies_secure(), httponly=True, samesite="Lax")
