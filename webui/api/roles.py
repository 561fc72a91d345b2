"""``/roles``: list, create, get, change, delete; and the permission catalogue (the logic
is ``/api/v2``'s, :mod:`webui.api.v2.roles`)."""

from __future__ import annotations

from typing import Any

from engine.security.roles import ROLE_ORDER, Action, Resource, require_role, role_query
from webui import db
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.security import (
    PermissionSchema,
    RoleCreateSchema,
    RolePatchSchema,
    RoleSchema,
)
from webui.api.v2.roles import catalogue, changed_role, new_role, removed_role

blp = api_blueprint("roles", "", "Roles and permissions", Resource.ROLES)


@blp.listing("/roles", RoleSchema)
def list_roles(args: dict[str, Any]) -> Any:
    """List roles with their permissions and DAG tags."""
    return paged(role_query(), args, ROLE_ORDER, "name")


@blp.operation(
    "POST", "/roles", Action.CREATE, body=RoleCreateSchema, status=201, returns=RoleSchema
)
def create(body: dict[str, Any]) -> Any:
    """Create a custom role: permissions, optionally limited to DAGs with some tags."""
    return new_role(body)


@blp.operation("GET", "/roles/<role_name>", Action.READ, returns=RoleSchema)
def get_role(role_name: str) -> Any:
    """Get one role."""
    return require_role(session=db.session(), name=role_name)


@blp.operation("PATCH", "/roles/<role_name>", Action.EDIT, body=RolePatchSchema, returns=RoleSchema)
def patch_role(body: dict[str, Any], role_name: str) -> Any:
    """Change a role (a builtin role's permissions are fixed; its DAG tags are not)."""
    return changed_role(role_name, body)


@blp.operation("DELETE", "/roles/<role_name>", Action.DELETE, status=204)
def delete(role_name: str) -> None:
    """Delete a custom role."""
    removed_role(role_name)


@blp.operation("GET", "/permissions", Action.READ, returns=PermissionSchema(many=True))
def list_permissions() -> Any:
    """Every permission of the catalogue (every action on every resource)."""
    return catalogue()
