"""Users, roles and passwords: the engine side of authentication and access control."""

from __future__ import annotations

from engine.security.passwords import hash_password as hash_password
from engine.security.passwords import needs_rehash as needs_rehash
from engine.security.passwords import verify_password as verify_password
from engine.security.roles import BUILTIN_ROLES as BUILTIN_ROLES
from engine.security.roles import Action as Action
from engine.security.roles import Resource as Resource
from engine.security.roles import sync_builtin_roles as sync_builtin_roles
from engine.security.users import create_user as create_user
from engine.security.users import get_user as get_user
from engine.security.users import list_users as list_users

__all__ = [
    "BUILTIN_ROLES",
    "Action",
    "Resource",
    "create_user",
    "get_user",
    "hash_password",
    "list_users",
    "needs_rehash",
    "sync_builtin_roles",
    "verify_password",
]
