"""Secrets backends: where connections and variables are looked up between the
environment and the database (Airflow's ``[secrets] backend``).

A backend is any object with ``get_connection(conn_id)`` and ``get_variable(key)``
(:class:`SecretsBackend`), answering None for what it does not hold. Subclassing
:class:`BaseSecretsBackend` needs only ``get_conn_value`` (a connection's URI or JSON
text) and ``get_variable``, as in Airflow. ``secrets.backend`` names the class (a module
on ``sys.path``, or a file of ``core.plugins_folder``); ``secrets.backend_kwargs`` are
its keyword arguments. Loom bundles
:class:`engine.execution.ssm_backend.SystemsManagerParameterStoreBackend`; Airflow's class
path for it is understood too.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from engine.authoring.connection import Connection
from engine.errors import ConfigError

ALIASES = {
    "airflow.providers.amazon.aws.secrets.systems_manager.SystemsManagerParameterStoreBackend": (
        "engine.execution.ssm_backend.SystemsManagerParameterStoreBackend"
    ),
}
"""Airflow's class paths of the backends Loom bundles."""


@runtime_checkable
class SecretsBackend(Protocol):
    """What a secrets backend answers; None: not held here (the database is asked next)."""

    def get_connection(self, conn_id: str) -> Connection | None: ...

    def get_variable(self, key: str) -> str | None: ...


class BaseSecretsBackend:
    """A backend built from text lookups: override ``get_conn_value`` and ``get_variable``."""

    def get_conn_value(self, conn_id: str) -> str | None:
        """Connection ``conn_id`` in the URI or the JSON form; None when not held."""
        return None

    def get_connection(self, conn_id: str) -> Connection | None:
        value = self.get_conn_value(conn_id)
        return None if value is None else Connection.from_text(conn_id, value)

    def get_variable(self, key: str) -> str | None:
        """Variable ``key``'s value; None when not held."""
        return None


def load_backend(
    class_path: str, kwargs: Mapping[str, Any], *, plugins_folder: Path | None = None
) -> SecretsBackend | None:
    """The backend ``class_path(**kwargs)``; None for an empty path. ConfigError when the
    class cannot be imported, refuses the arguments or is not a backend."""
    if not class_path:
        return None
    if plugins_folder is not None:
        from engine.plugins.loading import put_on_path

        put_on_path(plugins_folder)
    module_name, _, name = ALIASES.get(class_path, class_path).rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"secrets.backend {class_path!r} cannot be imported: {error}") from None
    try:
        backend = cls(**kwargs)
    except TypeError as error:
        raise ConfigError(f"secrets.backend_kwargs do not fit {class_path}: {error}") from None
    if not isinstance(backend, SecretsBackend):
        raise ConfigError(
            f"secrets.backend {class_path!r} is not a secrets backend: it needs"
            " get_connection(conn_id) and get_variable(key)"
        )
    return backend
