"""Users (Admin): the list, create, change roles, active flag and password, delete.

As in the API, an admin cannot disable or delete themselves: another admin must; and no
change may leave no active Admin who sees every DAG (engine.security.admins).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from flask import g, render_template, request, url_for
from werkzeug.wrappers import Response

import engine.security.users
from engine.errors import InvalidInputError, NotFoundError
from engine.models import User
from engine.security.roles import Action, Resource, list_roles
from engine.security.throttle import locked_until
from engine.services.pagination import Page
from engine.timeutil import utcnow
from webui import db
from webui.ui.blueprint import bp
from webui.ui.paging import list_page
from webui.ui.session import page
from webui.ui.views.admin import FormErrors, deleted, form_context, saved, text

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

    def create() -> None:
        engine.security.users.create_user(
            session=db.session(),
            username=username,
            password=_password(),
            role_names=_chosen_roles(),
            email=text("email", longest=EMAIL_LENGTH),
            full_name=text("full_name", longest=FULL_NAME_LENGTH),
        )

    return saved(
        create,
        field=lambda refused: "roles" if isinstance(refused, NotFoundError) else "username",
        again=_list_page,
        done=f"user {username} created",
        then=url_for("ui.users"),
    )


@bp.route("/users/<username>")
@page(Action.READ, Resource.USERS)
def user(username: str) -> str:
    return _user_page(_named(username))


@bp.route("/users/<username>", methods=["POST"])
@page(Action.EDIT, Resource.USERS)
def edit_user(username: str) -> Response | tuple[str, int]:
    found = _named(username)
    return saved(
        functools.partial(_change, found),
        field="roles",
        again=functools.partial(_user_page, found),
        done=f"user {username} saved",
        then=url_for("ui.user", username=username),
    )


@bp.route("/users/<username>/delete", methods=["POST"])
@page(Action.DELETE, Resource.USERS)
def delete_user(username: str) -> Response | tuple[str, int]:
    found = _named(username)

    def remove() -> None:
        engine.security.users.delete_user(session=db.session(), user=found, acting=g.loom_user)

    return deleted(
        remove,
        again=functools.partial(_user_page, found),
        done=f"user {username} deleted; their audit entries keep the name",
        then=url_for("ui.users"),
    )


def _named(username: str) -> User:
    return engine.security.users.require_user(session=db.session(), username=username)


def _change(found: User) -> None:
    """Apply the edit form to ``found`` (flushed; the caller commits or rolls back)."""
    changes = engine.security.users.UserChanges(
        password=_password() if request.form.get("password") else None,
        role_names=_chosen_roles(),
        is_active=request.form.get("is_active") == "true",
        email=text("email", longest=EMAIL_LENGTH),
        full_name=text("full_name", longest=FULL_NAME_LENGTH),
    )
    engine.security.users.update_user(
        session=db.session(), user=found, acting=g.loom_user, changes=changes, field="is_active"
    )


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
    listed: Page[User] = list_page(
        engine.security.users.user_query(), order=[User.username], limit=PAGE_SIZE
    )
    chosen = request.form.getlist("roles") if form else []
    return render_template(
        "ui/users.html",
        page=listed,
        roles=list_roles(session=db.session()),
        chosen=chosen,
        **form_context(errors, form),
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
        **form_context(errors, form),
        is_self=found.id == g.loom_user.id,
        locked_until=locked_until(session=db.session(), username=found.username, now=utcnow()),
    )
