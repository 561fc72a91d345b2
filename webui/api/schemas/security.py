"""Sign-in, users and roles."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from engine.security.roles import Action, Resource

USERNAME = validate.Length(min=1, max=250)
PASSWORD = validate.Length(min=1, max=1024)  # argon2 hashes any length; cap the work
EMAIL = validate.Length(max=320)
FULL_NAME = validate.Length(max=250)


class LoginSchema(ma.Schema):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=PASSWORD, load_only=True)


class TokensSchema(ma.Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"description": "Always Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Access token seconds"})


class AccessTokenSchema(ma.Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)


class PermissionSchema(ma.Schema):
    action = fields.String(required=True, validate=validate.OneOf([a.value for a in Action]))
    resource = fields.String(required=True, validate=validate.OneOf([r.value for r in Resource]))


class RoleSchema(ma.Schema):
    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    dag_tags = fields.List(fields.String(), metadata={"description": "Empty: every DAG"})
    is_builtin = fields.Boolean()
    permissions = fields.List(fields.Nested(PermissionSchema))


def _dag_tags(**missing: Any) -> fields.Field[Any]:
    """A role's DAG tag scope in a body; ``missing`` says what leaving it out means."""
    return fields.List(
        fields.String(validate=validate.Length(max=100)),
        validate=validate.Length(max=1000),
        **missing,
    )


def _permissions(**missing: Any) -> fields.Field[Any]:
    """A role's permissions in a body; ``missing`` says what leaving them out means."""
    return fields.List(
        fields.Nested(PermissionSchema), validate=validate.Length(max=1000), **missing
    )


class RolePatchSchema(ma.Schema):
    description = fields.String(load_default=None, validate=validate.Length(max=10_000))
    dag_tags = _dag_tags(load_default=None)
    permissions = _permissions(load_default=None)


class RoleCreateSchema(RolePatchSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    dag_tags = _dag_tags(load_default=list)
    permissions = _permissions(required=True)


class UserSchema(ma.Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    email = fields.String(allow_none=True)
    full_name = fields.String(allow_none=True)
    is_active = fields.Boolean(required=True)
    roles = fields.Method("_role_names", metadata={"description": "Role names"})
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)

    def _role_names(self, user: object) -> list[str]:
        roles = user["roles"] if isinstance(user, dict) else getattr(user, "roles", [])
        return [role if isinstance(role, str) else role.name for role in roles]


class MeSchema(UserSchema):
    permissions = fields.List(fields.String(), metadata={"description": "action:resource"})


def _role_names(**missing: Any) -> fields.Field[Any]:
    """A user's role names in a body; ``missing`` says what leaving them out means."""
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        validate=validate.Length(min=1, max=100),
        **missing,
    )


class UserPatchSchema(ma.Schema):
    password = fields.String(load_default=None, validate=PASSWORD, load_only=True)
    roles = _role_names(load_default=None)
    email = fields.String(load_default=None, validate=EMAIL)
    full_name = fields.String(load_default=None, validate=FULL_NAME)
    is_active = fields.Boolean(load_default=None)


class UserCreateSchema(ma.Schema):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=PASSWORD, load_only=True)
    roles = _role_names(required=True)
    email = fields.String(load_default=None, validate=EMAIL)
    full_name = fields.String(load_default=None, validate=FULL_NAME)
