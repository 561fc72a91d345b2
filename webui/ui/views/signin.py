"""Signing in and out of the web UI."""

from __future__ import annotations

from flask import g, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import TooManyRequests, Unauthorized
from werkzeug.wrappers import Response

from webui.auth import issue_tokens
from webui.auth.login import check_credentials, end_sign_in
from webui.ui.blueprint import bp
from webui.ui.session import safe_next, sign_in, sign_out


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    target = safe_next(request.args.get("next")) or url_for("ui.dags")
    if request.method == "GET":
        if g.get("loom_user") is not None:
            return redirect(target)
        return render_template("ui/login.html", next=request.args.get("next"))
    username = request.form.get("username", "").strip()
    try:
        user = check_credentials(username, request.form.get("password", ""))
    except (Unauthorized, TooManyRequests) as refused:
        page = render_template(
            "ui/login.html",
            error=f"{(refused.description or '').capitalize()}.",
            username=username,
            next=request.args.get("next"),
        )
        return page, refused.code or 401
    response = make_response(redirect(target))
    sign_in(response, issue_tokens(user))
    return response


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    payload = g.get("loom_sign_in")
    if payload is not None:
        end_sign_in(payload, g.loom_user.id)
    response = make_response(redirect(url_for("ui.login")))
    sign_out(response)
    return response
