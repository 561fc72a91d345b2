"""Users (Admin): the list, create, change roles, active flag and password, delete.

As in the API, an admin cannot disable or delete themselves: another admin must; and no
change may leave no active Admin who sees every DAG (engine.security.admins).
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

import engine.security.users
from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import User
from engine.security.roles import Action, Resource, list_roles
from engine.security.throttle import locked_until
from engine.services.pagination import Page
from engine.timeutil import utcnow
from webui import db
from webui.ui.blueprint import bp
from webui.ui.paging import list_page
from webui.ui.session import page
from webui.ui.views.admin import FORM_ERRORS, FormErrors, refusal, text

PAGE_SIZE = 50
EMAIL_LENGTH = 320
FULL_NAME_LENGTH = 250
PASSWORD_LENGTH = 1024
"""Longest password hashed (as the API accepts): Argon2 takes any length; cap the work."""


@bp.route("/users")
@page(Action.READ, Resource.USERS)
def users() -> str:
    return _list_page()


@bp.route("/users", methods=["POST"])
@page(Action.CREATE, Resource.USERS)
def create_user() -> Response | tuple[str, int]:
    username = request.form.get("username", "").strip()
    try:
        engine.security.users.create_user(
            session=db.session(),
            username=username,
            password=_password(),
            role_names=_chosen_roles(),
            email=text("email", longest=EMAIL_LENGTH),
            full_name=text("full_name", longest=FULL_NAME_LENGTH),
        )
    except FORM_ERRORS as refused:
        errors, status = refusal(
            refused, "roles" if isinstance(refused, NotFoundError) else "username"
        )
        return _list_page(errors=errors, form=request.form), status
    db.commit()
    flash(f"user {username} created")
    return redirect(url_for("ui.users"))


@bp.route("/users/<username>")
@page(Action.READ, Resource.USERS)
def user(username: str) -> str:
    return _user_page(engine.security.users.require_user(session=db.session(), username=username))


@bp.route("/users/<username>", methods=["POST"])
@page(Action.EDIT, Resource.USERS)
def edit_user(username: str) -> Response | tuple[str, int]:
    found = engine.security.users.require_user(session=db.session(), username=username)
    try:
        _change(found)
    except FORM_ERRORS as refused:
        errors, status = refusal(refused, "roles")
        return _user_page(found, errors=errors, form=request.form), status
    db.commit()
    flash(f"user {username} saved")
    return redirect(url_for("ui.user", username=username))


@bp.route("/users/<username>/delete", methods=["POST"])
@page(Action.DELETE, Resource.USERS)
def delete_user(username: str) -> Response | tuple[str, int]:
    found = engine.security.users.require_user(session=db.session(), username=username)
    try:
        engine.security.users.refuse_self_lockout(user=found, acting=g.loom_user, what="delete")
        engine.security.users.delete_user(session=db.session(), user=found)
    except ConflictError as refused:
        db.session().rollback()
        flash(str(refused), "error")
        return _user_page(found), 409
    db.commit()
    flash(f"user {username} deleted; their audit entries keep the name")
    return redirect(url_for("ui.users"))


def _change(found: User) -> None:
    """Apply the edit form to ``found`` (flushed; the caller commits or rolls back)."""
    session = db.session()
    active = request.form.get("is_active") == "true"
    if not active:
        engine.security.users.refuse_self_lockout(
            user=found, acting=g.loom_user, what="disable", field="is_active"
        )
    email = text("email", longest=EMAIL_LENGTH)
    full_name = text("full_name", longest=FULL_NAME_LENGTH)
    if request.form.get("password"):
        engine.security.users.set_password(session=session, user=found, password=_password())
    engine.security.users.set_roles(session=session, user=found, role_names=_chosen_roles())
    engine.security.users.set_active(session=session, user=found, active=active)
    found.email, found.full_name = email, full_name
    session.flush()


def _chosen_roles() -> list[str]:
    chosen = request.form.getlist("roles")
    if not chosen:
        raise InvalidInputError("roles: choose at least one role")
    return chosen


def _password() -> str:
    password = request.form.get("password", "")
    if len(password) > PASSWORD_LENGTH:
        raise InvalidInputError(f"password: must be at most {PASSWORD_LENGTH} characters")
    return password


def _list_page(errors: FormErrors | None = None, form: Mapping[str, str] | None = None) -> str:
    listed: Page[User] = list_page(sa.select(User), order=[User.username], limit=PAGE_SIZE)
    chosen = request.form.getlist("roles") if form else []
    return render_template(
        "ui/users.html",
        page=listed,
        roles=list_roles(session=db.session()),
        chosen=chosen,
        errors=errors or {},
        form=form or {},
    )


def _user_page(
    found: User, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
) -> str:
    chosen = request.form.getlist("roles") if form else [role.name for role in found.roles]
    return render_template(
        "ui/user.html",
        user=found,
        roles=list_roles(session=db.session()),
        chosen=chosen,
        errors=errors or {},
        form=form or {},
        is_self=found.id == g.loom_user.id,
        locked_until=locked_until(session=db.session(), username=found.username, now=utcnow()),
    )
