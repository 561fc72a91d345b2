"""The permission catalogue and the four builtin roles: Viewer ⊂ User ⊂ Op ⊂ Admin.

A permission is an ``(action, resource)`` pair. Builtin roles are owned by this module:
:func:`sync_builtin_roles` makes the database match the catalogue (create your own role
for anything else).
"""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import Permission, Role


class Action(StrEnum):
    """What a permission allows doing."""

    READ = "read"
    CREATE = "create"
    EDIT = "edit"
    DELETE = "delete"


class Resource(StrEnum):
    """What a permission allows acting on."""

    DAGS = "dags"
    DAG_RUNS = "dag_runs"
    TASK_INSTANCES = "task_instances"
    TASK_LOGS = "task_logs"
    XCOM = "xcom"
    IMPORT_ERRORS = "import_errors"
    POOLS = "pools"
    DEAD_LETTERS = "dead_letters"
    USERS = "users"
    ROLES = "roles"
    AUDIT_LOG = "audit_log"
    CONFIG = "config"
    HEALTH = "health"


PermissionPair = tuple[Action, Resource]

ALL_PERMISSIONS: frozenset[PermissionPair] = frozenset((a, r) for a in Action for r in Resource)
"""Every permission of the catalogue."""

_ADMIN_ONLY = frozenset({Resource.USERS, Resource.ROLES, Resource.AUDIT_LOG, Resource.CONFIG})
_WRITES = frozenset({Action.CREATE, Action.EDIT, Action.DELETE})

VIEWER: frozenset[PermissionPair] = frozenset(
    (Action.READ, r) for r in Resource if r not in _ADMIN_ONLY
)
USER: frozenset[PermissionPair] = (
    VIEWER
    | {(a, r) for a in _WRITES for r in (Resource.DAG_RUNS, Resource.TASK_INSTANCES)}
    | {(Action.EDIT, Resource.DAGS)}
)
OP: frozenset[PermissionPair] = USER | {
    (a, r) for a in Action for r in (Resource.POOLS, Resource.DEAD_LETTERS)
}
ADMIN: frozenset[PermissionPair] = ALL_PERMISSIONS

BUILTIN_ROLES: dict[str, tuple[str, frozenset[PermissionPair]]] = {
    "Viewer": ("Read DAGs, runs, task instances, logs and dead letters.", VIEWER),
    "User": ("Viewer, plus trigger, clear and mark runs and tasks, pause DAGs.", USER),
    "Op": ("User, plus manage pools and dead letters.", OP),
    "Admin": ("Everything, including users, roles, the audit log and configuration.", ADMIN),
}
"""Name → (description, permissions) of each builtin role."""


def sync_builtin_roles(*, session: Session) -> list[Role]:
    """Create or update the builtin roles (and the catalogue's permissions). Idempotent.

    A builtin role's permissions are reset to the catalogue's; its ``dag_tags`` are
    left as they are. Never commits.
    """
    permissions = _ensure_permissions(session=session)
    roles = []
    for name, (description, pairs) in BUILTIN_ROLES.items():
        role = session.scalars(sa.select(Role).where(Role.name == name)).one_or_none()
        if role is None:
            role = Role(name=name, dag_tags=[])
            session.add(role)
        role.description = description
        role.is_builtin = True
        role.permissions = sorted((permissions[p] for p in pairs), key=_permission_key)
        roles.append(role)
    session.flush()
    return roles


def _ensure_permissions(*, session: Session) -> dict[PermissionPair, Permission]:
    existing = {(p.action, p.resource): p for p in session.scalars(sa.select(Permission))}
    found: dict[PermissionPair, Permission] = {}
    for action, resource in sorted(ALL_PERMISSIONS):
        permission = existing.get((action.value, resource.value))
        if permission is None:
            permission = Permission(action=action.value, resource=resource.value)
            session.add(permission)
        found[(action, resource)] = permission
    return found


def _permission_key(permission: Permission) -> tuple[str, str]:
    return (permission.resource, permission.action)
