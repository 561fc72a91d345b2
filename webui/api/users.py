"""``/users``: list, create, get, change (password, roles, active), disable, delete (the
logic is ``/api/v2``'s, :mod:`webui.api.v2.users`)."""

from __future__ import annotations

from typing import Any

from engine.security.roles import Action, Resource
from engine.security.users import USER_ORDER, UserChanges, require_user, user_query
from webui import db
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.security import UserCreateSchema, UserPatchSchema, UserSchema
from webui.api.v2.users import changed_user, new_user, removed_user, user_changes

blp = api_blueprint("users", "/users", "Users", Resource.USERS)


@blp.listing("", UserSchema)
def list_users(args: dict[str, Any]) -> Any:
    """List users with their roles."""
    return paged(user_query(), args, USER_ORDER, "username")


@blp.operation("POST", "", Action.CREATE, body=UserCreateSchema, status=201, returns=UserSchema)
def create(body: dict[str, Any]) -> Any:
    """Create a user with one or more roles."""
    return new_user(body)


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
    removed_user(username)
