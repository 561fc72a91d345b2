"""Signing in and out of the web UI."""

from __future__ import annotations

from flask import g, make_response, redirect, render_template, request, url_for
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException, TooManyRequests, Unauthorized
from werkzeug.wrappers import Response

from webui.auth import issue_tokens
from webui.auth.login import check_credentials, end_sign_in
from webui.auth.throttle import too_many_attempts
from webui.ui.blueprint import bp
from webui.ui.session import safe_next, sign_in, sign_out


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    target = safe_next(request.args.get("next")) or url_for("ui.home")
    if request.method == "GET":
        if g.get("loom_user") is not None:
            return redirect(target)
        return render_template("ui/login.html", next=request.args.get("next"))
    try:
        user = check_credentials(_username(), request.form.get("password", ""))
    except (Unauthorized, TooManyRequests) as refused:
        return _refused(refused)
    response = make_response(redirect(target))
    sign_in(response, issue_tokens(user))
    return response


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(exc: RateLimitExceeded) -> Response:
    """Too many sign-in attempts (checked before the view runs): the form again, with why."""
    wait = exc.response.headers.get("Retry-After", "1") if exc.response is not None else "1"
    return _refused(too_many_attempts(int(wait)))


def _refused(refused: HTTPException) -> Response:
    """The login form again, with why the attempt was refused (and when to retry)."""
    headers = (getattr(refused, "data", None) or {}).get("headers") or {}
    message = refused.description or ""
    page = render_template(
        "ui/login.html",
        error=f"{message[:1].upper()}{message[1:]}.",
        username=_username(),
        next=request.args.get("next"),
    )
    return make_response(page, refused.code or 401, headers)


def _username() -> str:
    return request.form.get("username", "").strip()


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    payload = g.get("loom_sign_in")
    if payload is not None:
        end_sign_in(payload, g.loom_user.id)
    response = make_response(redirect(url_for("ui.login")))
    sign_out(response)
    return response
