"""Users (Admin): the list, create, change roles, active flag and password, delete.

As in the API, an admin cannot disable or delete themselves: another admin must; and no
change may leave no active Admin who sees every DAG (engine.security.admins).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import g, render_template, request

import engine.security.users
from engine.errors import InvalidInputError, NotFoundError
from engine.models import User
from engine.security.roles import Resource, list_roles
from engine.security.throttle import locked_until
from engine.services.pagination import Page
from engine.timeutil import utcnow
from webui import db
from webui.ui.blueprint import bp
from webui.ui.paging import list_page
from webui.ui.views.admin import FormErrors, form_context, text
from webui.ui.views.adminpages import AdminPages

PAGE_SIZE = 50
EMAIL_LENGTH = 320
FULL_NAME_LENGTH = 250
PASSWORD_LENGTH = 1024
"""Longest password hashed (as the API accepts): Argon2 takes any length; cap the work."""


class UserPages(AdminPages[User], noun="user", key="username", resource=Resource.USERS):
    edit_field = "roles"
    deleted_note = "; their audit entries keep the name"
    stays = True

    def list_page(
        self, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
    ) -> str:
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

    def item_page(
        self, found: User, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
    ) -> str:
        chosen = request.form.getlist("roles") if form else [role.name for role in found.roles]
        locked = locked_until(session=db.session(), username=found.username, now=utcnow())
        return render_template(
            "ui/user.html",
            user=found,
            roles=list_roles(session=db.session()),
            chosen=chosen,
            **form_context(errors, form),
            is_self=found.id == g.loom_user.id,
            locked_until=locked,
        )

    def find(self, key: str) -> User:
        return engine.security.users.require_user(session=db.session(), username=key)

    def create(self, key: str) -> None:
        engine.security.users.create_user(
            session=db.session(),
            username=key,
            password=_password(),
            role_names=_chosen_roles(),
            email=text("email", longest=EMAIL_LENGTH),
            full_name=text("full_name", longest=FULL_NAME_LENGTH),
        )

    def create_field(self, refused: Exception) -> str:
        return "roles" if isinstance(refused, NotFoundError) else "username"

    def update(self, found: User) -> None:
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

    def delete(self, found: User) -> None:
        engine.security.users.delete_user(session=db.session(), user=found, acting=g.loom_user)


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


UserPages().register(bp)
