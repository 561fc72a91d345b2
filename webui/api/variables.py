"""``/variables``: list, create, get, update, delete. Sensitive values show as ``***``."""

from __future__ import annotations

from typing import Any, cast

from flask import current_app, g

from engine.config.masking import MASK, is_sensitive_name
from engine.errors import ConflictError
from engine.models.crypto import Crypter, crypter_for
from engine.models.secrets import StoredVariable
from engine.security.roles import Action, Resource
from engine.services import variables as service
from engine.services.pagination import order_columns
from engine.services.userinput import check_json
from webui import db
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.secrets import VariableBodySchema, VariablePatchSchema, VariableSchema

blp = api_blueprint("variables", "/variables", "Variables", Resource.VARIABLES)

ORDER = order_columns(StoredVariable.key)


def crypter() -> Crypter:
    """The settings' crypter, built once per request: a list decrypts every row with it,
    and building one may read the key file."""
    if "loom_crypter" not in g:
        g.loom_crypter = crypter_for(current_app.extensions["loom.settings"])
    return cast(Crypter, g.loom_crypter)


def shown(row: StoredVariable) -> dict[str, Any]:
    value = MASK if is_sensitive_name(row.key) else service.variable_value(crypter(), row)
    return {
        "key": row.key,
        "value": value,
        "description": row.description,
        "is_encrypted": row.is_encrypted,
    }


@blp.listing("", VariableSchema)
def list_variables(args: dict[str, Any]) -> Any:
    """List variables; values of sensitive keys are masked."""
    page = paged(service.variable_query().order_by(None), args, ORDER, "key")
    return page.with_items([shown(row) for row in page])


@blp.operation(
    "POST", "", Action.CREATE, body=VariableBodySchema, status=201, returns=VariableSchema
)
def create(body: dict[str, Any]) -> Any:
    """Create a variable (409 when the key exists)."""
    check_json(body, field="body")  # no NUL: PostgreSQL refuses it in text
    session = db.session()
    if service.find_variable(session=session, key=body["key"]) is not None:
        raise ConflictError(f"variable {body['key']!r} exists")
    row = service.set_variable(session=session, crypter=crypter(), **body)
    db.commit()
    return shown(row)


@blp.operation("GET", "/<variable_key>", Action.READ, returns=VariableSchema)
def get_variable(variable_key: str) -> Any:
    """Get one variable."""
    return shown(service.require_variable(session=db.session(), key=variable_key))


@blp.operation(
    "PATCH", "/<variable_key>", Action.EDIT, body=VariablePatchSchema, returns=VariableSchema
)
def patch_variable(body: dict[str, Any], variable_key: str) -> Any:
    """Change a variable's value (and description)."""
    check_json(body, field="body")  # no NUL: PostgreSQL refuses it in text
    session = db.session()
    service.require_variable(session=session, key=variable_key)
    row = service.set_variable(session=session, crypter=crypter(), key=variable_key, **body)
    db.commit()
    return shown(row)


@blp.operation("DELETE", "/<variable_key>", Action.DELETE, status=204)
def delete(variable_key: str) -> None:
    """Delete a variable."""
    service.delete_variable(session=db.session(), key=variable_key)
    db.commit()
