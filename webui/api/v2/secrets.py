"""``/api/v2/variables`` and ``/api/v2/connections`` in Airflow 3's shapes: list, create,
get, patch (``update_mask``), delete, bulk (:mod:`webui.api.v2.bulk`). Sensitive values
show as ``***``, as in the web UI (:mod:`webui.secrets`)."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from engine.authoring.connection import Connection
from engine.errors import ConflictError, InvalidInputError
from engine.models.secrets import StoredConnection, StoredVariable
from engine.security.roles import Action, Resource
from engine.services import connections as connection_service
from engine.services import variables as variable_service
from engine.services.pagination import order_columns
from engine.services.userinput import check_json
from webui import db
from webui.api.schemas.secrets import (
    ConnectionBodySchema,
    ConnectionSchema,
    ConnectionTestSchema,
    VariableSchema,
)
from webui.api.v2.bulk import BulkBodySchema, BulkResponseSchema, Kind, run_bulk
from webui.api.v2.common import V2PageArgs, page, v2_blueprint
from webui.api.v2.schemas_runs import only_null
from webui.secrets import crypter, shown_connection, shown_variable, tested

variables = v2_blueprint("variables", "/variables", "Variable", Resource.VARIABLES)
connections = v2_blueprint("connections", "/connections", "Connection", Resource.CONNECTIONS)

NO_TEAMS = only_null("Loom has no teams")
_TEXT = validate.Length(max=100_000)


class VariableBodySchema(ma.Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=250))
    value = fields.Raw(
        required=True, metadata={"description": "Text, or any JSON value (stored as its JSON)"}
    )
    description = fields.String(load_default=None, allow_none=True, validate=_TEXT)
    team_name = fields.String(load_default=None, allow_none=True, validate=NO_TEAMS)


class ConnectionV2BodySchema(ConnectionBodySchema):
    team_name = fields.String(load_default=None, allow_none=True, validate=NO_TEAMS)


def patched_fields(
    args: dict[str, Any], body: dict[str, Any], path: tuple[str, str], allowed: tuple[str, ...]
) -> set[str]:
    """The fields a PATCH changes: those ``update_mask`` names (all ``allowed`` without
    one), once the body is clean and names the object the ``path`` names."""
    check_json(body, field="body")  # no NUL: PostgreSQL refuses it in text
    name, value = path
    if body[name] != value:
        raise InvalidInputError(f"{name}: the body's differs from the path's")
    mask = set(args["update_mask"] or allowed)
    unknown = mask - set(allowed)
    if unknown:
        raise InvalidInputError(f"update_mask: {sorted(unknown)[0]!r} cannot be changed")
    return mask


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) > 100_000:
        raise InvalidInputError("value: longer than 100000 characters")
    return text


def _write_variable(entity: dict[str, Any], names: set[str], create: bool) -> StoredVariable:
    """Create the variable ``entity`` describes, or change its fields ``names``; flushed,
    not committed (a route's body, or one of a bulk request's entities)."""
    session = db.session()
    key = entity["key"]
    row = None if create else variable_service.require_variable(session=session, key=key)
    if "value" in names or row is None:
        value = _text(entity["value"])
    else:
        value = variable_service.variable_value(crypter(), row)
    return variable_service.set_variable(
        session=session,
        crypter=crypter(),
        key=key,
        value=value,
        description=entity["description"] if "description" in names or create else None,
    )


@variables.listing("", "variables", VariableSchema, query=V2PageArgs)
def list_variables(args: dict[str, Any]) -> Any:
    """List variables; values of sensitive keys are masked."""
    order = order_columns(StoredVariable.key)
    query = variable_service.variable_query(by_key=False)
    return page("variables", query, args, order, "key", shown=shown_variable)


@variables.operation(
    "POST", "", Action.CREATE, body=VariableBodySchema, status=201, returns=VariableSchema
)
def create_variable(body: dict[str, Any]) -> Any:
    """Create a variable (409 when the key exists)."""
    check_json(body, field="body")
    if variable_service.find_variable(session=db.session(), key=body["key"]) is not None:
        raise ConflictError(f"variable {body['key']!r} exists")
    row = _write_variable(body, set(), create=True)
    db.commit()
    return shown_variable(row)


@variables.operation("GET", "/<variable_key>", Action.READ, returns=VariableSchema)
def get_variable(variable_key: str) -> Any:
    """Get one variable."""
    return shown_variable(variable_service.require_variable(session=db.session(), key=variable_key))


@variables.patching("/<variable_key>", body=VariableBodySchema, returns=VariableSchema)
def patch_variable(args: dict[str, Any], body: dict[str, Any], variable_key: str) -> Any:
    """Change a variable's value and description (``update_mask``: only those named)."""
    mask = patched_fields(args, body, ("key", variable_key), ("value", "description"))
    row = _write_variable(body, mask, create=False)
    db.commit()
    return shown_variable(row)


@variables.operation("DELETE", "/<variable_key>", Action.DELETE, status=204)
def delete_variable(variable_key: str) -> None:
    """Delete a variable."""
    variable_service.delete_variable(session=db.session(), key=variable_key)
    db.commit()


CONNECTION_FIELDS = (
    "conn_type",
    "description",
    "host",
    "login",
    "schema",
    "port",
    "password",
    "extra",
)


def _write_connection(entity: dict[str, Any], names: set[str], create: bool) -> StoredConnection:
    """Create the connection ``entity`` describes (ConflictError when its id exists), or
    change its fields ``names``; flushed, not committed."""
    session = db.session()
    conn_id = entity["connection_id"]
    keys = crypter()
    stored = None
    if not create:
        row = connection_service.require_connection(session=session, conn_id=conn_id)
        stored = connection_service.as_connection(keys, row)
    values = {
        name: entity[name] if stored is None or name in names else getattr(stored, name)
        for name in CONNECTION_FIELDS
    }
    conn = Connection(conn_id=conn_id, **values)
    return connection_service.save_connection(
        session=session, crypter=keys, conn=conn, replace=not create
    )


@connections.listing("", "connections", ConnectionSchema, query=V2PageArgs)
def list_connections(args: dict[str, Any]) -> Any:
    """List connections (passwords and sensitive extra fields masked)."""
    order = order_columns(StoredConnection.conn_id, StoredConnection.conn_type)
    query = connection_service.connection_query(by_key=False)
    aliases = {"connection_id": "conn_id"}
    return page("connections", query, args, order, "conn_id", aliases, shown=shown_connection)


@connections.operation(
    "POST", "", Action.CREATE, body=ConnectionV2BodySchema, status=201, returns=ConnectionSchema
)
def create_connection(body: dict[str, Any]) -> Any:
    """Create a connection (409 when the id exists)."""
    check_json(body, field="body")
    row = _write_connection(body, set(), create=True)
    db.commit()
    return shown_connection(row)


@connections.operation(
    "POST", "/test", Action.CREATE, body=ConnectionV2BodySchema, returns=ConnectionTestSchema
)
def test_connection(body: dict[str, Any]) -> Any:
    """Test the connection in the body (refused, 403, unless ``core.test_connection`` is
    Enabled); a masked password or extra is taken from the stored connection of that id."""
    body = {name: value for name, value in body.items() if name != "team_name"}
    return tested(body)


@connections.operation("GET", "/<connection_id>", Action.READ, returns=ConnectionSchema)
def get_connection(connection_id: str) -> Any:
    """Get one connection (password masked)."""
    return shown_connection(
        connection_service.require_connection(session=db.session(), conn_id=connection_id)
    )


@connections.patching("/<connection_id>", body=ConnectionV2BodySchema, returns=ConnectionSchema)
def patch_connection(args: dict[str, Any], body: dict[str, Any], connection_id: str) -> Any:
    """Change a connection: the fields ``update_mask`` names, or all of them."""
    mask = patched_fields(args, body, ("connection_id", connection_id), CONNECTION_FIELDS)
    row = _write_connection(body, mask, create=False)
    db.commit()
    return shown_connection(row)


@connections.operation("DELETE", "/<connection_id>", Action.DELETE, status=204)
def delete_connection(connection_id: str) -> None:
    """Delete a connection."""
    connection_service.delete_connection(session=db.session(), conn_id=connection_id)
    db.commit()


VARIABLES = Kind(
    resource=Resource.VARIABLES,
    noun="variable",
    key="key",
    schema=VariableBodySchema,
    fields=("value", "description"),
    exists=lambda key: variable_service.find_variable(session=db.session(), key=key) is not None,
    write=_write_variable,
    delete=lambda key: variable_service.delete_variable(session=db.session(), key=key),
)


@variables.operation("PATCH", "", Action.EDIT, body=BulkBodySchema, returns=BulkResponseSchema)
def bulk_variables(body: dict[str, Any]) -> Any:
    """Create, update and delete variables in one request (``create`` and ``delete``
    actions also need those permissions)."""
    return run_bulk(VARIABLES, body)


CONNECTIONS = Kind(
    resource=Resource.CONNECTIONS,
    noun="connection",
    key="connection_id",
    schema=ConnectionV2BodySchema,
    fields=CONNECTION_FIELDS,
    exists=lambda conn_id: (
        connection_service.find_connection(session=db.session(), conn_id=conn_id) is not None
    ),
    write=_write_connection,
    delete=lambda conn_id: connection_service.delete_connection(
        session=db.session(), conn_id=conn_id
    ),
)


@connections.operation("PATCH", "", Action.EDIT, body=BulkBodySchema, returns=BulkResponseSchema)
def bulk_connections(body: dict[str, Any]) -> Any:
    """Create, update and delete connections in one request (``create`` and ``delete``
    actions also need those permissions)."""
    return run_bulk(CONNECTIONS, body)
