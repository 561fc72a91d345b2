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
from webui.api.blueprint import Blueprint
from webui.api.paging import paged
from webui.api.schemas.common import PageArgs, page_of
from webui.api.schemas.security import UserCreateSchema, UserPatchSchema, UserSchema
from webui.auth import requires

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users")


@blp.route("", methods=["GET"])
@requires(Action.READ, Resource.USERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(UserSchema))
def list_users(args: dict[str, Any]) -> Any:
    """List users with their roles."""
    return paged(user_query(), args, USER_ORDER, "username")


@blp.route("", methods=["POST"])
@requires(Action.CREATE, Resource.USERS)
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
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


@blp.route("/<username>", methods=["GET"])
@requires(Action.READ, Resource.USERS)
@blp.response(200, UserSchema)
def get_user(username: str) -> Any:
    """Get one user."""
    return require_user(session=db.session(), username=username)


@blp.route("/<username>", methods=["PATCH"])
@requires(Action.EDIT, Resource.USERS)
@blp.arguments(UserPatchSchema)
@blp.response(200, UserSchema)
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


@blp.route("/<username>/disable", methods=["POST"])
@requires(Action.EDIT, Resource.USERS)
@blp.response(200, UserSchema)
def disable(username: str) -> Any:
    """Disable a user: they cannot sign in, and their tokens stop working at once."""
    user = require_user(session=db.session(), username=username)
    disabled = UserChanges(is_active=False)
    update_user(session=db.session(), user=user, acting=g.loom_user, changes=disabled)
    db.commit()
    return user


@blp.route("/<username>", methods=["DELETE"])
@requires(Action.DELETE, Resource.USERS)
@blp.response(204)
def delete(username: str) -> None:
    """Delete a user (audit entries keep their name)."""
    user = require_user(session=db.session(), username=username)
    delete_user(session=db.session(), user=user, acting=g.loom_user)
    db.commit()
