"""``/roles``: list, create, get, change, delete; and the permission catalogue."""

from __future__ import annotations

from typing import Any

from engine.security.roles import (
    ALL_PERMISSIONS,
    ROLE_ORDER,
    Action,
    Resource,
    create_role,
    delete_role,
    require_role,
    role_query,
    update_role,
)
from webui import db
from webui.api.blueprint import Blueprint
from webui.api.paging import paged
from webui.api.schemas.common import PageArgs, page_of
from webui.api.schemas.security import (
    PermissionSchema,
    RoleCreateSchema,
    RolePatchSchema,
    RoleSchema,
)
from webui.auth import requires

blp = Blueprint("roles", __name__, url_prefix="/api/v1", description="Roles and permissions")


def _pairs(permissions: list[dict[str, str]] | None) -> list[tuple[str, str]] | None:
    if permissions is None:
        return None
    return [(p["action"], p["resource"]) for p in permissions]


@blp.route("/roles", methods=["GET"])
@requires(Action.READ, Resource.ROLES)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(RoleSchema))
def list_roles(args: dict[str, Any]) -> Any:
    """List roles with their permissions and DAG tags."""
    return paged(role_query(), args, ROLE_ORDER, "name")


@blp.route("/roles", methods=["POST"])
@requires(Action.CREATE, Resource.ROLES)
@blp.arguments(RoleCreateSchema)
@blp.response(201, RoleSchema)
def create(body: dict[str, Any]) -> Any:
    """Create a custom role: permissions, optionally limited to DAGs with some tags."""
    role = create_role(
        session=db.session(),
        name=body["name"],
        permissions=_pairs(body["permissions"]) or [],
        description=body["description"],
        dag_tags=body["dag_tags"],
    )
    db.commit()
    return role


@blp.route("/roles/<role_name>", methods=["GET"])
@requires(Action.READ, Resource.ROLES)
@blp.response(200, RoleSchema)
def get_role(role_name: str) -> Any:
    """Get one role."""
    return require_role(session=db.session(), name=role_name)


@blp.route("/roles/<role_name>", methods=["PATCH"])
@requires(Action.EDIT, Resource.ROLES)
@blp.arguments(RolePatchSchema)
@blp.response(200, RoleSchema)
def patch_role(body: dict[str, Any], role_name: str) -> Any:
    """Change a role (a builtin role's permissions are fixed; its DAG tags are not)."""
    role = require_role(session=db.session(), name=role_name)
    update_role(
        session=db.session(),
        role=role,
        permissions=_pairs(body["permissions"]),
        description=body["description"],
        dag_tags=body["dag_tags"],
    )
    db.commit()
    return role


@blp.route("/roles/<role_name>", methods=["DELETE"])
@requires(Action.DELETE, Resource.ROLES)
@blp.response(204)
def delete(role_name: str) -> None:
    """Delete a custom role."""
    delete_role(session=db.session(), role=require_role(session=db.session(), name=role_name))
    db.commit()


@blp.route("/permissions", methods=["GET"])
@requires(Action.READ, Resource.ROLES)
@blp.response(200, PermissionSchema(many=True))
def list_permissions() -> Any:
    """Every permission of the catalogue (every action on every resource)."""
    return [{"action": a.value, "resource": r.value} for a, r in sorted(ALL_PERMISSIONS)]
