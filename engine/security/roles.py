"""The permission catalogue and the four builtin roles: Viewer ⊂ User ⊂ Op ⊂ Admin.

A permission is an ``(action, resource)`` pair. Builtin roles are owned by this module:
:func:`sync_builtin_roles` makes the database match the catalogue (create your own role
for anything else).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import Permission, Role
from engine.services.pagination import order_columns


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
    NOTIFICATIONS = "notifications"
    USERS = "users"
    ROLES = "roles"
    AUDIT_LOG = "audit_log"
    CONFIG = "config"
    HEALTH = "health"
    VARIABLES = "variables"
    CONNECTIONS = "connections"
    ASSETS = "assets"


PermissionPair = tuple[Action, Resource]

ALL_PERMISSIONS: frozenset[PermissionPair] = frozenset((a, r) for a in Action for r in Resource)
"""Every permission of the catalogue."""

_ADMIN_ONLY = frozenset({Resource.USERS, Resource.ROLES, Resource.AUDIT_LOG, Resource.CONFIG})
_OP_AND_ADMIN = frozenset({Resource.NOTIFICATIONS})
"""Read by operators only: deliveries show recipients' addresses and receivers' errors."""
_OP_MANAGED = frozenset({Resource.VARIABLES, Resource.CONNECTIONS})
"""Hold credentials and settings: Op and Admin only, as Airflow's builtin roles have them."""
_WRITES = frozenset({Action.CREATE, Action.EDIT, Action.DELETE})

VIEWER: frozenset[PermissionPair] = frozenset(
    (Action.READ, r) for r in Resource if r not in _ADMIN_ONLY | _OP_AND_ADMIN | _OP_MANAGED
)
USER: frozenset[PermissionPair] = (
    VIEWER
    | {(a, r) for a in _WRITES for r in (Resource.DAG_RUNS, Resource.TASK_INSTANCES)}
    | {(Action.EDIT, Resource.DAGS)}
    | {(Action.CREATE, Resource.ASSETS)}  # an asset event triggers runs, as a trigger does
)
OP: frozenset[PermissionPair] = (
    USER
    | {(a, r) for a in Action for r in (Resource.POOLS, Resource.DEAD_LETTERS, *_OP_MANAGED)}
    | {(Action.READ, r) for r in _OP_AND_ADMIN}
    | {(Action.EDIT, Resource.NOTIFICATIONS)}  # retry a delivery the notifier gave up on
)
ADMIN: frozenset[PermissionPair] = ALL_PERMISSIONS

BUILTIN_ROLES: dict[str, tuple[str, frozenset[PermissionPair]]] = {
    "Viewer": ("Read DAGs, runs, task instances, logs and dead letters.", VIEWER),
    "User": (
        "Viewer, plus trigger, clear and mark runs and tasks, pause DAGs, record asset events.",
        USER,
    ),
    "Op": (
        "User, plus manage pools, dead letters, variables and connections, read and retry "
        "alert deliveries.",
        OP,
    ),
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


# -- custom roles: what the API and the CLI call --------------------------------------------

ROLE_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
"""Letters, digits, space and ``. _ -``, starting with a letter or digit, 64 at most."""

MAX_TAG_LENGTH = 100
"""Longest DAG tag a role may be limited to."""


def parse_permissions(pairs: Iterable[tuple[str, str]]) -> set[PermissionPair]:
    """``(action, resource)`` strings as catalogue pairs; InvalidInputError names the unknown."""
    parsed: set[PermissionPair] = set()
    for action, resource in pairs:
        try:
            parsed.add((Action(action), Resource(resource)))
        except ValueError:
            raise InvalidInputError(
                f"permissions: ({action}, {resource}) is not in the catalogue; actions are "
                f"{', '.join(Action)} and resources {', '.join(Resource)}"
            ) from None
    return parsed


def list_roles(*, session: Session) -> list[Role]:
    """Every role, by name, with its permissions loaded."""
    return list(session.scalars(role_query().order_by(Role.name)))


def role_query() -> sa.Select[Any]:
    """Every role (unordered: the caller pages them)."""
    return sa.select(Role)


ROLE_ORDER = order_columns(Role.name, Role.id)
"""Columns role lists may be ordered by."""


def require_role(*, session: Session, name: str) -> Role:
    """The role called ``name``; NotFoundError when there is none."""
    role = session.scalars(sa.select(Role).where(Role.name == name)).one_or_none()
    if role is None:
        raise NotFoundError(f"no role {name!r}")
    return role


def create_role(
    *,
    session: Session,
    name: str,
    permissions: Iterable[tuple[str, str]],
    description: str | None = None,
    dag_tags: Sequence[str] = (),
) -> Role:
    """Add a custom role; ConflictError when the name is taken. Never commits."""
    if not ROLE_NAME_PATTERN.fullmatch(name):
        raise InvalidInputError(f"name: {name!r} is not a valid role name")
    if session.scalars(sa.select(Role.id).where(Role.name == name)).first() is not None:
        raise ConflictError(f"role {name!r} exists already")
    role = Role(name=name, description=description, dag_tags=_tags(dag_tags), is_builtin=False)
    role.permissions = _permission_rows(parse_permissions(permissions), session=session)
    session.add(role)
    session.flush()
    return role


def update_role(
    *,
    session: Session,
    role: Role,
    permissions: Iterable[tuple[str, str]] | None = None,
    description: str | None = None,
    dag_tags: Sequence[str] | None = None,
) -> Role:
    """Change a role; a builtin role's permissions belong to the catalogue (ConflictError),
    and so does a change that would leave no active, unscoped admin (scoping the Admin
    role to some DAG tags, say)."""
    if permissions is not None and role.is_builtin:
        raise ConflictError(f"role {role.name!r} is builtin: its permissions cannot change")
    from engine.security.admins import keeping_an_admin  # admins reads access, access this

    rows = None if permissions is None else parse_permissions(permissions)
    tags = None if dag_tags is None else _tags(dag_tags)
    with keeping_an_admin(session=session):
        if rows is not None:
            role.permissions = _permission_rows(rows, session=session)
        if description is not None:
            role.description = description
        if tags is not None:
            role.dag_tags = tags
    return role


def delete_role(*, session: Session, role: Role) -> None:
    """Remove a custom role (its users lose it); builtin roles stay, and so does a role
    without which no active, unscoped admin would remain (ConflictError)."""
    if role.is_builtin:
        raise ConflictError(f"role {role.name!r} is builtin and cannot be deleted")
    from engine.security.admins import keeping_an_admin  # admins reads access, access this

    with keeping_an_admin(session=session):
        session.delete(role)


def _tags(tags: Sequence[str]) -> list[str]:
    cleaned = sorted({tag.strip() for tag in tags})
    if any(not tag or len(tag) > MAX_TAG_LENGTH for tag in cleaned):
        raise InvalidInputError(f"dag_tags: a tag must have 1 to {MAX_TAG_LENGTH} characters")
    return cleaned


def _permission_rows(pairs: set[PermissionPair], *, session: Session) -> list[Permission]:
    rows = _ensure_permissions(session=session)
    return sorted((rows[pair] for pair in pairs), key=_permission_key)
