"""Roles (Admin): the permission matrix, custom roles with a DAG tag scope, edit, delete.

A builtin role's permissions belong to the catalogue (engine.security.roles): only its
description and DAG tags change, and it cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import render_template, request

import engine.security.roles
from engine.models import Role
from engine.security.roles import Action, Resource
from webui import db
from webui.ui.blueprint import bp
from webui.ui.views.admin import (
    DESCRIPTION_LENGTH,
    FormErrors,
    form_context,
    text,
    words,
)
from webui.ui.views.adminpages import AdminPages

PERMISSION_FIELD = "permissions"
"""Checkboxes named so, valued ``action:resource``."""


class RolePages(AdminPages[Role], noun="role", key="name", resource=Resource.ROLES):
    edit_field = PERMISSION_FIELD
    deleted_note = "; its users lost it"
    stays = True
    opens_created = True

    def list_page(
        self, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
    ) -> str:
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

    def item_page(
        self, found: Role, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
    ) -> str:
        keeps = found.is_builtin or not form
        chosen = _granted(found) if keeps else _grants(_chosen_permissions())
        return render_template(
            "ui/roles_edit.html",
            role=found,
            chosen=chosen,
            actions=list(Action),
            resources=list(Resource),
            **form_context(errors, form),
        )

    def find(self, key: str) -> Role:
        return engine.security.roles.require_role(session=db.session(), name=key)

    def create(self, key: str) -> None:
        engine.security.roles.create_role(
            session=db.session(),
            name=key,
            permissions=_chosen_permissions(),
            description=text("description", longest=DESCRIPTION_LENGTH),
            dag_tags=words("dag_tags"),
        )

    def update(self, found: Role) -> None:
        engine.security.roles.update_role(
            session=db.session(),
            role=found,
            permissions=None if found.is_builtin else _chosen_permissions(),
            description=text("description", longest=DESCRIPTION_LENGTH) or "",
            dag_tags=words("dag_tags"),
        )

    def delete(self, found: Role) -> None:
        engine.security.roles.delete_role(session=db.session(), role=found)


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


RolePages().register(bp)
