"""Connections in the database: add, replace, get, list, delete, import and export.

Passwords and extras are encrypted with the caller's
:class:`~engine.models.crypto.Crypter`. Functions never commit.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.connection import Connection
from engine.errors import ConflictError, InvalidInputError
from engine.models.crypto import Crypter
from engine.models.secrets import StoredConnection
from engine.services.namedrows import NamedRows

CONNECTIONS = NamedRows(StoredConnection, StoredConnection.conn_id, "connection", "connection id")

PLAIN_FIELDS = ("conn_type", "description", "host", "schema", "login", "port")
"""What a connection stores as it is (the password and extra are encrypted)."""


def check_conn_id(conn_id: str) -> str:
    return CONNECTIONS.check_key(conn_id)


def save_connection(
    *, session: Session, crypter: Crypter, conn: Connection, replace: bool = False
) -> StoredConnection:
    """Store ``conn``; ConflictError when its id exists and ``replace`` is false."""
    conn_id = check_conn_id(conn.conn_id or "")
    if not conn.conn_type:
        raise InvalidInputError(f"connection {conn_id!r} needs a conn_type")
    row = find_connection(session=session, conn_id=conn_id)
    if row is not None and not replace:
        raise ConflictError(f"connection {conn_id!r} exists")
    if row is None:
        row = StoredConnection(conn_id=conn_id)
        session.add(row)
    for field in PLAIN_FIELDS:
        setattr(row, field, getattr(conn, field))
    row.password, row.is_encrypted = _encrypted(crypter, conn.password)
    row.extra, row.is_extra_encrypted = _encrypted(crypter, conn.extra)
    session.flush()
    return row


def find_connection(*, session: Session, conn_id: str) -> StoredConnection | None:
    return CONNECTIONS.find(session, conn_id)


def require_connection(*, session: Session, conn_id: str) -> StoredConnection:
    return CONNECTIONS.require(session, conn_id)


def as_connection(crypter: Crypter, row: StoredConnection) -> Connection:
    """The task-side :class:`Connection` of a stored row, secrets decrypted."""
    password = crypter.decrypt(row.password, row.is_encrypted) if row.password else None
    extra = crypter.decrypt(row.extra, row.is_extra_encrypted) if row.extra else None
    plain = {field: getattr(row, field) for field in PLAIN_FIELDS}
    return Connection(conn_id=row.conn_id, password=password, extra=extra, **plain)


def connection_query(*, by_key: bool = True) -> sa.Select[Any]:
    """Every connection, by id (``by_key=False``: unordered)."""
    return CONNECTIONS.query(by_key=by_key)


def delete_connection(*, session: Session, conn_id: str) -> None:
    CONNECTIONS.delete(session, conn_id)


def export_connections(*, session: Session, crypter: Crypter) -> dict[str, Any]:
    """Airflow's JSON export: ``{conn_id: {conn_type, host, ..., extra}}``."""
    rows = CONNECTIONS.every(session)
    return {row.conn_id: as_connection(crypter, row).to_dict() for row in rows}


def import_connections(
    *, session: Session, crypter: Crypter, data: object, overwrite: bool = False
) -> int:
    """Add the connections of an export file: ``{conn_id: JSON form or URI}``."""
    if not isinstance(data, dict):
        raise InvalidInputError("a connections file is a JSON object of conn_id: connection")
    for conn_id, value in data.items():
        if isinstance(value, str):
            conn = Connection(conn_id=str(conn_id), uri=value)
        else:
            conn = Connection.from_json(str(conn_id), value)
        save_connection(session=session, crypter=crypter, conn=conn, replace=overwrite)
    return len(data)


def _encrypted(crypter: Crypter, value: str | None) -> tuple[str | None, bool]:
    if value is None or value == "":
        return None, False
    return crypter.encrypt(value)
