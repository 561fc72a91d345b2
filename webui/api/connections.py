"""``/connections``: list, create, get, replace, delete. Passwords show as ``***``, and so
do the sensitive fields of ``extra``."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from werkzeug.exceptions import Forbidden

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
from webui.api.schemas.secrets import (
    ConnectionBodySchema,
    ConnectionSchema,
    ConnectionTestSchema,
)
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


TEST_DISABLED = (
    "Testing connections is disabled in Loom's configuration (core.test_connection is"
    " {value}); set it to Enabled, or LOOM__CORE__TEST_CONNECTION=Enabled, to allow it."
)


@blp.operation(
    "POST", "/test", Action.CREATE, body=ConnectionBodySchema, returns=ConnectionTestSchema
)
def test(body: dict[str, Any]) -> Any:
    """Test the connection in the body (Airflow's ``POST /connections/test``): ``SELECT 1``
    for a database, a GET of the base URL for HTTP. Allowed when ``core.test_connection``
    is Enabled, else 403. A masked (``***``) password or extra is taken from the stored
    connection of that id, so a connection read from this API can be tested back."""
    check_json(body, field="body")
    return tested(_connection(body, body["connection_id"]))


def tested(conn: Connection) -> dict[str, Any]:
    """``{"status", "message"}`` of testing ``conn`` by its hook (a masked secret: the stored
    one); Forbidden unless ``core.test_connection`` is Enabled."""
    setting = current_app.extensions["loom.settings"].core.test_connection
    if setting != "Enabled":
        raise Forbidden(TEST_DISABLED.format(value=setting))
    from engine.hooks.registry import test_connection

    status, message = test_connection(_unmasked(conn))
    return {"status": status, "message": message}


def _unmasked(conn: Connection) -> Connection:
    if MASK not in (conn.password, conn.extra) and MASK not in conn.extra_dejson.values():
        return conn
    row = service.find_connection(session=db.session(), conn_id=conn.conn_id or "")
    if row is None:
        return conn
    stored = service.as_connection(crypter(), row)
    if conn.password == MASK:
        conn.password = stored.password
    if conn.extra == MASK:
        conn.extra = stored.extra
    elif conn.extra:
        extra = conn.extra_dejson
        kept = stored.extra_dejson
        conn.extra = json.dumps({k: kept.get(k, v) if v == MASK else v for k, v in extra.items()})
    return conn


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
