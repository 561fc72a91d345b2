"""``/connections``: list, create, get, replace, delete. Passwords show as ``***``, and so
do the sensitive fields of ``extra``."""

from __future__ import annotations

import json
from typing import Any

from engine.authoring.connection import Connection
from engine.config.masking import MASK, is_sensitive_name
from engine.errors import InvalidInputError
from engine.models.secrets import StoredConnection
from engine.security.roles import Action, Resource
from engine.services import connections as service
from engine.services.pagination import order_columns
from engine.services.userinput import check_json
from webui import db
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.secrets import ConnectionBodySchema, ConnectionSchema
from webui.api.variables import crypter

blp = api_blueprint("connections", "/connections", "Connections", Resource.CONNECTIONS)

ORDER = order_columns(StoredConnection.conn_id, StoredConnection.conn_type)


def shown(row: StoredConnection) -> dict[str, Any]:
    conn = service.as_connection(crypter(), row)
    return {
        "connection_id": row.conn_id,
        "conn_type": row.conn_type,
        "description": row.description,
        "host": row.host,
        "login": row.login,
        "schema": row.schema,
        "port": row.port,
        "password": MASK if conn.password else None,
        "extra": _masked_extra(conn),
    }


def _masked_extra(conn: Connection) -> str | None:
    if not conn.extra:
        return None
    extra = conn.extra_dejson
    if not extra:
        return MASK  # not a JSON object: it cannot be told apart, so none of it is shown
    return json.dumps({k: MASK if is_sensitive_name(k) else v for k, v in extra.items()})


def _connection(body: dict[str, Any], connection_id: str) -> Connection:
    fields = {k: v for k, v in body.items() if k != "connection_id"}
    return Connection(conn_id=connection_id, **fields)


@blp.listing("", ConnectionSchema)
def list_connections(args: dict[str, Any]) -> Any:
    """List connections."""
    page = paged(service.connection_query().order_by(None), args, ORDER, "conn_id")
    return page.with_items([shown(row) for row in page])


@blp.operation(
    "POST", "", Action.CREATE, body=ConnectionBodySchema, status=201, returns=ConnectionSchema
)
def create(body: dict[str, Any]) -> Any:
    """Create a connection (409 when the id exists)."""
    check_json(body, field="body")  # no NUL: PostgreSQL refuses it in text
    conn = _connection(body, body["connection_id"])
    row = service.save_connection(session=db.session(), crypter=crypter(), conn=conn)
    db.commit()
    return shown(row)


@blp.operation("GET", "/<connection_id>", Action.READ, returns=ConnectionSchema)
def get_connection(connection_id: str) -> Any:
    """Get one connection (password masked)."""
    return shown(service.require_connection(session=db.session(), conn_id=connection_id))


@blp.operation(
    "PUT", "/<connection_id>", Action.EDIT, body=ConnectionBodySchema, returns=ConnectionSchema
)
def replace(body: dict[str, Any], connection_id: str) -> Any:
    """Replace a connection's fields (the body's ``connection_id`` must match the path)."""
    check_json(body, field="body")  # no NUL: PostgreSQL refuses it in text
    session = db.session()
    service.require_connection(session=session, conn_id=connection_id)
    if body["connection_id"] != connection_id:
        raise InvalidInputError("connection_id in the body differs from the path")
    conn = _connection(body, connection_id)
    row = service.save_connection(session=session, crypter=crypter(), conn=conn, replace=True)
    db.commit()
    return shown(row)


@blp.operation("DELETE", "/<connection_id>", Action.DELETE, status=204)
def delete(connection_id: str) -> None:
    """Delete a connection."""
    service.delete_connection(session=db.session(), conn_id=connection_id)
    db.commit()
