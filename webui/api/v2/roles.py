"""``/api/v2/roles`` and ``/api/v2/permissions``: Loom's roles (Airflow's core API has
none): list, create, get, change, delete; and the permission catalogue. The last-admin
guard is the service's (:mod:`engine.security.admins`)."""

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
from webui.api.schemas.security import (
    PermissionSchema,
    RoleCreateSchema,
    RolePatchSchema,
    RoleSchema,
)
from webui.api.v2.common import V2PageArgs, collection, page, v2_blueprint

blp = v2_blueprint("roles", "/roles", "Role (Loom)", Resource.ROLES)
permissions = v2_blueprint("permissions", "/permissions", "Role (Loom)", Resource.ROLES)


def _pairs(permissions: list[dict[str, str]] | None) -> list[tuple[str, str]] | None:
    if permissions is None:
        return None
    return [(p["action"], p["resource"]) for p in permissions]


@blp.listing("", "roles", RoleSchema, query=V2PageArgs)
def list_roles(args: dict[str, Any]) -> Any:
    """List roles with their permissions and DAG tags (ordered by name by default)."""
    return page("roles", role_query(), args, ROLE_ORDER, "name")


@blp.operation("POST", "", Action.CREATE, body=RoleCreateSchema, status=201, returns=RoleSchema)
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


@blp.operation("GET", "/<role_name>", Action.READ, returns=RoleSchema)
def get_role(role_name: str) -> Any:
    """Get one role."""
    return require_role(session=db.session(), name=role_name)


@blp.operation("PATCH", "/<role_name>", Action.EDIT, body=RolePatchSchema, returns=RoleSchema)
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


@blp.operation("DELETE", "/<role_name>", Action.DELETE, status=204)
def delete(role_name: str) -> None:
    """Delete a custom role."""
    delete_role(session=db.session(), role=require_role(session=db.session(), name=role_name))
    db.commit()


@permissions.operation("GET", "", Action.READ, returns=collection("permissions", PermissionSchema))
def list_permissions() -> Any:
    """Every permission of the catalogue (every action on every resource), not paged."""
    every = [{"action": a.value, "resource": r.value} for a, r in sorted(ALL_PERMISSIONS)]
    return {"permissions": every, "total_entries": len(every)}
