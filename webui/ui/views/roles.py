"""Roles (Admin): the permission matrix, custom roles with a DAG tag scope, edit, delete.

A builtin role's permissions belong to the catalogue (engine.security.roles): only its
description and DAG tags change, and it cannot be deleted.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from flask import render_template, request, url_for
from werkzeug.wrappers import Response

import engine.security.roles
from engine.models import Role
from engine.security.roles import Action, Resource
from webui import db
from webui.ui.blueprint import bp
from webui.ui.session import page
from webui.ui.views.admin import (
    DESCRIPTION_LENGTH,
    FormErrors,
    deleted,
    form_context,
    saved,
    text,
    words,
)

PERMISSION_FIELD = "permissions"
"""Checkboxes named so, valued ``action:resource``."""


@bp.route("/roles")
@page(Action.READ, Resource.ROLES)
def roles() -> str:
    return _list_page()


@bp.route("/roles", methods=["POST"])
@page(Action.CREATE, Resource.ROLES)
def create_role() -> Response | tuple[str, int]:
    name = request.form.get("name", "").strip()

    def create() -> None:
        engine.security.roles.create_role(
            session=db.session(),
            name=name,
            permissions=_chosen_permissions(),
            description=text("description", longest=DESCRIPTION_LENGTH),
            dag_tags=words("dag_tags"),
        )

    return saved(
        create,
        field="name",
        again=_list_page,
        done=f"role {name} created",
        then=url_for("ui.role", name=name),
    )


@bp.route("/roles/<name>")
@page(Action.READ, Resource.ROLES)
def role(name: str) -> str:
    return _role_page(_named(name))


@bp.route("/roles/<name>", methods=["POST"])
@page(Action.EDIT, Resource.ROLES)
def edit_role(name: str) -> Response | tuple[str, int]:
    found = _named(name)

    def update() -> None:
        engine.security.roles.update_role(
            session=db.session(),
            role=found,
            permissions=None if found.is_builtin else _chosen_permissions(),
            description=text("description", longest=DESCRIPTION_LENGTH) or "",
            dag_tags=words("dag_tags"),
        )

    return saved(
        update,
        field=PERMISSION_FIELD,
        again=functools.partial(_role_page, found),
        done=f"role {name} saved",
        then=url_for("ui.role", name=name),
    )


@bp.route("/roles/<name>/delete", methods=["POST"])
@page(Action.DELETE, Resource.ROLES)
def delete_role(name: str) -> Response | tuple[str, int]:
    found = _named(name)
    return deleted(
        lambda: engine.security.roles.delete_role(session=db.session(), role=found),
        again=functools.partial(_role_page, found),
        done=f"role {name} deleted; its users lost it",
        then=url_for("ui.roles"),
    )


def _named(name: str) -> Role:
    return engine.security.roles.require_role(session=db.session(), name=name)


def _chosen_permissions() -> list[tuple[str, str]]:
    """The ticked ``action:resource`` boxes as pairs (the engine refuses unknown ones)."""
    pairs = (value.partition(":") for value in request.form.getlist(PERMISSION_FIELD))
    return [(action, resource) for action, _, resource in pairs]


def _grants(permissions: Iterable[tuple[str, str]]) -> set[str]:
    """Permissions as the ``action:resource`` values of the form's boxes."""
    return {f"{action}:{resource}" for action, resource in permissions}


def _granted(found: Role) -> set[str]:
    return _grants((p.action, p.resource) for p in found.permissions)


def _actions_by_resource(found: Role) -> dict[str, list[str]]:
    """What ``found`` allows on each resource, in the catalogue's order of actions."""
    granted = _granted(found)
    return {
        resource.value: [a.value for a in Action if f"{a.value}:{resource.value}" in granted]
        for resource in Resource
    }


def _list_page(errors: FormErrors | None = None, form: Mapping[str, str] | None = None) -> str:
    listed = engine.security.roles.list_roles(session=db.session())
    chosen = _grants(_chosen_permissions()) if form else set()
    return render_template(
        "ui/roles.html",
        roles=listed,
        allowed_by={r.name: _actions_by_resource(r) for r in listed},
        chosen=chosen,
        actions=list(Action),
        resources=list(Resource),
        **form_context(errors, form),
    )


def _role_page(
    found: Role, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
) -> str:
    chosen = _grants(_chosen_permissions()) if form and not found.is_builtin else _granted(found)
    return render_template(
        "ui/roles_edit.html",
        role=found,
        chosen=chosen,
        actions=list(Action),
        resources=list(Resource),
        **form_context(errors, form),
    )
