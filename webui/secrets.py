"""How stored variables and connections are shown and tested from the web (API and UI).

A sensitive variable's value, a connection's password and the sensitive fields of its
``extra`` show as ``***``; a connection is tested only when ``core.test_connection`` is
Enabled, with a masked password or extra taken back from the stored connection of its id.
"""

from __future__ import annotations

import json
from typing import Any, cast

from flask import current_app, g
from werkzeug.exceptions import Forbidden

from engine.authoring.connection import Connection
from engine.config.masking import MASK, is_sensitive_name
from engine.models.crypto import Crypter, crypter_for
from engine.models.secrets import StoredConnection, StoredVariable
from engine.services import connections as connection_service
from engine.services import variables as variable_service
from engine.services.userinput import check_json
from webui import db

TEST_DISABLED = (
    "Testing connections is disabled in Loom's configuration (core.test_connection is"
    " {value}); set it to Enabled, or LOOM__CORE__TEST_CONNECTION=Enabled, to allow it."
)


def crypter() -> Crypter:
    """The settings' crypter, built once per request: a list decrypts every row with it,
    and building one may read the key file."""
    if "loom_crypter" not in g:
        g.loom_crypter = crypter_for(current_app.extensions["loom.settings"])
    return cast(Crypter, g.loom_crypter)


def shown_variable(row: StoredVariable) -> dict[str, Any]:
    """``row`` as the web shows it: the value of a sensitive key masked."""
    value = MASK if is_sensitive_name(row.key) else variable_service.variable_value(crypter(), row)
    return {
        "key": row.key,
        "value": value,
        "description": row.description,
        "is_encrypted": row.is_encrypted,
    }


def shown_connection(row: StoredConnection) -> dict[str, Any]:
    """``row`` as the web shows it: the password and the sensitive fields of extra masked."""
    conn = connection_service.as_connection(crypter(), row)
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


def tested(body: dict[str, Any]) -> dict[str, Any]:
    """The outcome of testing the connection ``body`` describes: Forbidden unless
    ``core.test_connection`` is Enabled."""
    setting = current_app.extensions["loom.settings"].core.test_connection
    if setting != "Enabled":
        raise Forbidden(TEST_DISABLED.format(value=setting))
    check_json(body, field="body")
    fields = {k: v for k, v in body.items() if k != "connection_id"}
    conn = _unmasked(Connection(conn_id=body["connection_id"], **fields))
    from engine.hooks.registry import test_connection  # the hooks: only when testing

    status, message = test_connection(conn)
    return {"status": status, "message": message}


def _unmasked(conn: Connection) -> Connection:
    """``conn`` with a masked password or extra (fields) taken from the stored one."""
    if MASK not in (conn.password, conn.extra) and MASK not in conn.extra_dejson.values():
        return conn
    row = connection_service.find_connection(session=db.session(), conn_id=conn.conn_id or "")
    if row is None:
        return conn
    stored = connection_service.as_connection(crypter(), row)
    if conn.password == MASK:
        conn.password = stored.password
    if conn.extra == MASK:
        conn.extra = stored.extra
    elif conn.extra:
        extra = conn.extra_dejson
        kept = stored.extra_dejson
        conn.extra = json.dumps({k: kept.get(k, v) if v == MASK else v for k, v in extra.items()})
    return conn
