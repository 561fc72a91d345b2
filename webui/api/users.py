"""``/users``: list, create, get, change (password, roles, active), disable, delete."""

from __future__ import annotations

from typing import Any

from flask import g

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
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.security import UserCreateSchema, UserPatchSchema, UserSchema

blp = api_blueprint("users", "/users", "Users", Resource.USERS)


@blp.listing("", UserSchema)
def list_users(args: dict[str, Any]) -> Any:
    """List users with their roles."""
    return paged(user_query(), args, USER_ORDER, "username")


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
    user = require_user(session=db.session(), username=username)
    changes = UserChanges(
        password=body["password"],
        role_names=body["roles"],
        is_active=body["is_active"],
        email=KEEP if body["email"] is None else body["email"],
        full_name=KEEP if body["full_name"] is None else body["full_name"],
    )
    update_user(session=db.session(), user=user, acting=g.loom_user, changes=changes)
    db.commit()
    return user


@blp.operation("POST", "/<username>/disable", Action.EDIT, returns=UserSchema)
def disable(username: str) -> Any:
    """Disable a user: they cannot sign in, and their tokens stop working at once."""
    user = require_user(session=db.session(), username=username)
    disabled = UserChanges(is_active=False)
    update_user(session=db.session(), user=user, acting=g.loom_user, changes=disabled)
    db.commit()
    return user


@blp.operation("DELETE", "/<username>", Action.DELETE, status=204)
def delete(username: str) -> None:
    """Delete a user (audit entries keep their name)."""
    user = require_user(session=db.session(), username=username)
    delete_user(session=db.session(), user=user, acting=g.loom_user)
    db.commit()
