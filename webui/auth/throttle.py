"""Rate limits of signing in (Flask-Limiter), for the API's login and the UI's login form.

Two limits, shared by both forms of login so that alternating them gains nothing:
``login.client_limit`` per client address (:func:`client_address`), whatever the
usernames, and ``login.global_limit`` for all clients together, which bounds the CPU
that password hashing takes. They are checked before the view runs; a refused attempt
gets 429 in the app's error shape with ``Retry-After``. The per-username counts and
locks live in the database (:mod:`engine.security.throttle`).

Counters live in Redis (``redis.url``) when Redis is configured (``redis.url`` set, or
the ``rq`` executor), so that every webserver process and replica shares them; in
memory otherwise (``loom standalone``, tests), and in memory too while Redis does not
answer. Each app has its own limiter: two apps in one process share nothing.
"""

from __future__ import annotations

import math
import time

from flask import Flask, Response, request
from flask_limiter import ApplicationLimit, Limiter, RequestLimit
from werkzeug.exceptions import TooManyRequests

from engine.config import Settings
from webui.errors import error_response

LOGIN_ENDPOINTS = frozenset({"ui.login", "auth.token", "auth.token_cli"})
"""The views that check a password."""
KEY_PREFIX = "loom-login"
STRATEGY = "moving-window"
"""Counts every attempt within the last window: no double burst across a window's edge."""
UNKNOWN_CLIENT = "unknown"


def init_app(app: Flask, settings: Settings) -> Limiter:
    """Rate-limit sign-ins to ``app`` with ``settings.login``'s limits."""
    login = settings.login
    limits = [
        ApplicationLimit(login.client_limit, scope="login-client", exempt_when=_not_a_login),
        ApplicationLimit(
            login.global_limit,
            scope="login-all",
            key_function=lambda: "all",
            exempt_when=_not_a_login,
        ),
    ]
    limiter = Limiter(
        client_address,
        application_limits=limits,  # type: ignore[arg-type]  # an invariant list of a union
        storage_uri=storage_uri(settings),
        strategy=STRATEGY,
        key_prefix=KEY_PREFIX,
        in_memory_fallback_enabled=True,
        on_breach=_refusal,
    )
    limiter.init_app(app)
    return limiter


def client_address() -> str:
    """The address a request comes from, as sign-ins are counted by."""
    return request.remote_addr or UNKNOWN_CLIENT


def storage_uri(settings: Settings) -> str:
    """Where the limiter counts: Redis when Loom has one, memory otherwise."""
    if "url" not in settings.redis.model_fields_set and settings.executor.kind != "rq":
        return "memory://"
    url = settings.redis.url
    if url.startswith("unix://"):  # the limits library names Redis sockets so
        return "redis+unix://" + url.removeprefix("unix://")
    return url


def too_many_attempts(seconds: float) -> TooManyRequests:
    """The refusal of a sign-in attempt, to retry after ``seconds`` (rounded up)."""
    wait = max(1, math.ceil(seconds))
    refused = TooManyRequests(f"too many sign-in attempts; try again in {wait} s")
    refused.data = {"headers": {"Retry-After": str(wait)}}  # type: ignore[attr-defined]
    return refused


def _not_a_login() -> bool:
    return request.method != "POST" or request.endpoint not in LOGIN_ENDPOINTS


def _refusal(limit: RequestLimit) -> Response:
    """The 429 response of a breached limit (Flask-Limiter raises it, carrying this)."""
    refused = too_many_attempts(limit.window.reset_time - time.time())
    headers = refused.data["headers"]  # type: ignore[attr-defined]
    return error_response(429, refused.description or "", headers=headers)
