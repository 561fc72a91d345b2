"""What tasks call to read settings and credentials: ``Variable``, ``BaseHook`` and the
``var`` / ``conn`` template namespaces.

Lookup order, Airflow's: the environment first (``LOOM_VAR_<KEY>`` then
``AIRFLOW_VAR_<KEY>``; ``LOOM_CONN_<ID>`` then ``AIRFLOW_CONN_<ID>``, in the URI or JSON
form), then the secrets backend of ``secrets.backend`` if there is one
(:mod:`engine.execution.secrets_backend`), then the metadata database. The backend and
the database are reached only when the environment has no answer, through the process's
settings (``load_settings()``: workers and ``loom dags test`` have them) or a store
:func:`configure` installed. A backend that fails is logged with its traceback and the
database is asked, as Airflow goes on to its next backend. Nothing here imports
SQLAlchemy until then, so ``from engine import Variable`` stays as cheap as the rest of
the API.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.authoring.connection import Connection
from engine.errors import NotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.execution.secrets_backend import SecretsBackend
    from engine.models.crypto import Crypter

logger = logging.getLogger(__name__)

VAR_PREFIXES = ("LOOM_VAR_", "AIRFLOW_VAR_")
CONN_PREFIXES = ("LOOM_CONN_", "AIRFLOW_CONN_")

_NOTSET: Any = object()


@dataclass(frozen=True)
class SecretsStore:
    """The tiers after the environment: the secrets backend (if any), then the database
    (sessions and the key that decrypts)."""

    session_factory: Callable[[], Session]
    crypter: Crypter
    backend: SecretsBackend | None = None


_store: SecretsStore | None = None


def configure(store: SecretsStore | None) -> None:
    """Use ``store`` for database lookups in this process (None: build one from settings)."""
    global _store
    _store = store


def current_store() -> SecretsStore:
    global _store
    if _store is None:
        from engine.config import load_settings
        from engine.models.crypto import crypter_for
        from engine.runtime.database import session_factory_for

        settings = load_settings()
        _store = SecretsStore(
            session_factory_for(settings), crypter_for(settings), backend_for(settings)
        )
    return _store


def backend_for(settings: Any) -> SecretsBackend | None:
    """The secrets backend ``settings`` name (``secrets.backend``); None without one."""
    from engine.execution.secrets_backend import load_backend

    return load_backend(
        settings.secrets.backend,
        settings.secrets.backend_kwargs,
        plugins_folder=settings.core.plugins_folder,
    )


def _from_backend(what: str, lookup: Callable[[SecretsBackend], Any]) -> Any:
    backend = current_store().backend
    if backend is None:
        return None
    try:
        return lookup(backend)
    except Exception:  # a backend's outage must not hide the database's answer (Airflow)
        logger.exception("%s from secrets backend %s failed; asking the database", what, backend)
        return None


@contextmanager
def _session(*, write: bool = False) -> Iterator[tuple[Session, Crypter]]:
    from engine.execution.metadata import metadata_session

    with metadata_session(write=write) as session:
        yield session, current_store().crypter


def _from_env(prefixes: tuple[str, ...], name: str) -> str | None:
    for prefix in prefixes:
        value = os.environ.get(prefix + name.upper())
        if value is not None:
            return value
    return None


class Variable:
    """Airflow's ``Variable``: ``Variable.get("key")``, ``Variable.set("key", value)``."""

    @classmethod
    def get(
        cls,
        key: str,
        default: Any = _NOTSET,
        deserialize_json: bool = False,
        *,
        default_var: Any = _NOTSET,
    ) -> Any:
        """The value of ``key``; ``default`` when it exists nowhere, else KeyError."""
        if default is _NOTSET:
            default = default_var
        text = _from_env(VAR_PREFIXES, key)
        if text is None:
            text = _from_backend(f"variable {key!r}", lambda backend: backend.get_variable(key))
        if text is None:
            from engine.services.variables import find_variable, variable_value

            with _session() as (session, crypter):
                row = find_variable(session=session, key=key)
                text = None if row is None else variable_value(crypter, row)
        if text is None:
            if default is _NOTSET:
                raise KeyError(f"Variable {key} does not exist")
            return default
        _mask_if_sensitive(key, text)
        return json.loads(text) if deserialize_json else text

    @classmethod
    def set(
        cls,
        key: str,
        value: Any,
        description: str | None = None,
        serialize_json: bool = False,
    ) -> None:
        """Store ``value`` in the database (JSON text when ``serialize_json``)."""
        from engine.services.variables import set_variable

        text = json.dumps(value, indent=2) if serialize_json else str(value)
        with _session(write=True) as (session, crypter):
            set_variable(
                session=session, crypter=crypter, key=key, value=text, description=description
            )

    @classmethod
    def delete(cls, key: str) -> None:
        """Remove ``key`` from the database; NotFoundError when it is not there."""
        from engine.services.variables import delete_variable

        with _session(write=True) as (session, _crypter):
            delete_variable(session=session, key=key)


def get_connection(conn_id: str) -> Connection:
    """Connection ``conn_id`` from the environment, the secrets backend or the database;
    NotFoundError if none has it."""
    text = _from_env(CONN_PREFIXES, conn_id)
    conn = (
        Connection.from_text(conn_id, text)
        if text is not None
        else _from_backend(f"connection {conn_id!r}", lambda b: b.get_connection(conn_id))
        or _from_database(conn_id)
    )
    if conn.password:
        _mask(conn.password)
    return conn


def _from_database(conn_id: str) -> Connection:
    from engine.services.connections import as_connection, find_connection

    with _session() as (session, crypter):
        row = find_connection(session=session, conn_id=conn_id)
        if row is None:
            raise NotFoundError(f"The conn_id `{conn_id}` isn't defined")
        return as_connection(crypter, row)


class BaseHook:
    """The base of hooks; ``BaseHook.get_connection(conn_id)`` is what tasks call."""

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        return get_connection(conn_id)


class VariableAccessor:
    """``var.value`` / ``var.json`` in templates: each attribute is a lookup."""

    def __init__(self, *, deserialize_json: bool) -> None:
        self._json = deserialize_json

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return Variable.get(key, deserialize_json=self._json)

    def get(self, key: str, default: Any = _NOTSET) -> Any:
        return Variable.get(key, default, deserialize_json=self._json)


class ConnectionAccessor:
    """``conn`` in templates: ``{{ conn.my_db.host }}``, ``{{ conn.get('my_db') }}``."""

    def __getattr__(self, conn_id: str) -> Connection:
        if conn_id.startswith("__"):
            raise AttributeError(conn_id)
        return get_connection(conn_id)

    def get(self, conn_id: str, default: Any = None) -> Any:
        try:
            return get_connection(conn_id)
        except NotFoundError:
            return default


def template_namespaces() -> dict[str, Any]:
    """``var`` and ``conn`` for a task's context; nothing is looked up until used."""
    return {
        "var": {
            "value": VariableAccessor(deserialize_json=False),
            "json": VariableAccessor(deserialize_json=True),
        },
        "conn": ConnectionAccessor(),
    }


def _mask_if_sensitive(key: str, value: str) -> None:
    from engine.config.masking import is_sensitive_name

    if is_sensitive_name(key):
        _mask(value)


def _mask(value: str) -> None:
    from engine.config.masking import register_secret

    register_secret(value)
