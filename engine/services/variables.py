"""Variables in the database: set, get, list, delete, import and export. The CLI, the
API and tasks (:mod:`engine.execution.secrets`) call these; values are encrypted with the
caller's :class:`~engine.models.crypto.Crypter`. Functions never commit.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import InvalidInputError
from engine.models.crypto import Crypter
from engine.models.secrets import StoredVariable
from engine.services.namedrows import NamedRows

VARIABLES = NamedRows(StoredVariable, StoredVariable.key, "variable", "variable key")


def check_key(key: str) -> str:
    """``key`` when it is a usable variable key; InvalidInputError otherwise."""
    return VARIABLES.check_key(key)


def set_variable(
    *, session: Session, crypter: Crypter, key: str, value: str, description: str | None = None
) -> StoredVariable:
    """Create or replace variable ``key``; a None description keeps the old one."""
    stored, encrypted = crypter.encrypt(value)
    row = VARIABLES.find(session, check_key(key))
    if row is None:
        row = StoredVariable(key=key, description=description)
        session.add(row)
    elif description is not None:
        row.description = description
    row.val, row.is_encrypted = stored, encrypted
    session.flush()
    return row


def find_variable(*, session: Session, key: str) -> StoredVariable | None:
    return VARIABLES.find(session, key)


def require_variable(*, session: Session, key: str) -> StoredVariable:
    return VARIABLES.require(session, key)


def variable_value(crypter: Crypter, row: StoredVariable) -> str:
    return crypter.decrypt(row.val, row.is_encrypted)


def variable_query(*, by_key: bool = True) -> sa.Select[Any]:
    """Every variable, by key (``by_key=False``: unordered)."""
    return VARIABLES.query(by_key=by_key)


def delete_variable(*, session: Session, key: str) -> None:
    VARIABLES.delete(session, key)


def export_variables(*, session: Session, crypter: Crypter) -> dict[str, Any]:
    """Airflow's export file: ``{key: value}``, values that are JSON given as JSON."""
    rows = VARIABLES.every(session)
    return {row.key: _maybe_json(variable_value(crypter, row)) for row in rows}


def import_variables(*, session: Session, crypter: Crypter, data: object) -> int:
    """Set every variable of an export file (``{key: value}``); non-string values are
    stored as JSON. Returns how many were set."""
    if not isinstance(data, dict):
        raise InvalidInputError("a variables file is a JSON object of key: value")
    for key, value in data.items():
        text = value if isinstance(value, str) else json.dumps(value)
        set_variable(session=session, crypter=crypter, key=str(key), value=text)
    return len(data)


def _maybe_json(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict | list) else text
