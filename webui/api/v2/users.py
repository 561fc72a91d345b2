"""``/api/v2/users``: Loom's users (Airflow's core API has none): list, create, get,
change, disable, delete.

The last-admin guard and token revocation are the services' (:mod:`engine.security`):
no change may leave no active Admin who sees every DAG, and a new password or a
disabled account revokes that user's tokens at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import g

from engine.models import User
from engine.security.roles import Action, Resource
from engine.security.users import (
    KEEP,
    USER_ORDER,
    UserChanges,
    create_user,
    delete_user,
    require_user,
    update_user,
    user_query,
)
from webui import db
from webui.api.schemas.security import UserCreateSchema, UserPatchSchema, UserSchema
from webui.api.v2.common import V2PageArgs, page, v2_blueprint

blp = v2_blueprint("users", "/users", "User (Loom)", Resource.USERS)


def changed_user(username: str, changes: UserChanges) -> User:
    """User ``username`` with ``changes``, made by the signed-in user; committed."""
    user = require_user(session=db.session(), username=username)
    update_user(session=db.session(), user=user, acting=g.loom_user, changes=changes)
    db.commit()
    return user


def user_changes(body: Mapping[str, Any]) -> UserChanges:
    """The changes a patch body asks for (a field left out or null stays as it is)."""
    return UserChanges(
        password=body["password"],
        role_names=body["roles"],
        is_active=body["is_active"],
        email=KEEP if body["email"] is None else body["email"],
        full_name=KEEP if body["full_name"] is None else body["full_name"],
    )


@blp.listing("", "users", UserSchema, query=V2PageArgs)
def list_users(args: dict[str, Any]) -> Any:
    """List users with their roles (ordered by username by default)."""
    return page("users", user_query(), args, USER_ORDER, "username")


@blp.operation("POST", "", Action.CREATE, body=UserCreateSchema, status=201, returns=UserSchema)
def create(body: dict[str, Any]) -> Any:
    """Create a user with one or more roles."""
    user = create_user(
        session=db.session(),
        username=body["username"],
        password=body["password"],
        role_names=body["roles"],
        email=body["email"],
        full_name=body["full_name"],
    )
    db.commit()
    return user


@blp.operation("GET", "/<username>", Action.READ, returns=UserSchema)
def get_user(username: str) -> Any:
    """Get one user."""
    return require_user(session=db.session(), username=username)


@blp.operation("PATCH", "/<username>", Action.EDIT, body=UserPatchSchema, returns=UserSchema)
def patch_user(body: dict[str, Any], username: str) -> Any:
    """Change a user; a new password or ``is_active: false`` revokes their tokens at once."""
    return changed_user(username, user_changes(body))


@blp.operation("POST", "/<username>/disable", Action.EDIT, returns=UserSchema)
def disable(username: str) -> Any:
    """Disable a user: they cannot sign in, and their tokens stop working at once."""
    return changed_user(username, UserChanges(is_active=False))


@blp.operation("DELETE", "/<username>", Action.DELETE, status=204)
def delete(username: str) -> None:
    """Delete a user (audit entries keep their name)."""
    user = require_user(session=db.session(), username=username)
    delete_user(session=db.session(), user=user, acting=g.loom_user)
    db.commit()
