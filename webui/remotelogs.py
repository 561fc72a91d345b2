"""The webserver's remote log store (``logging.remote_base_url``), built once per app."""

from __future__ import annotations

from flask import Flask, current_app

from engine.config import Settings
from engine.execution.remotelogs import RemoteLogStore, remote_logs_from

EXTENSION = "loom.remote_logs"


def init_app(app: Flask, settings: Settings) -> None:
    remote = remote_logs_from(settings)
    app.extensions[EXTENSION] = None if remote is None else remote.store


def remote_log_store() -> RemoteLogStore | None:
    """Where readers fetch what the database keeps only the tail of; None: off."""
    store: RemoteLogStore | None = current_app.extensions.get(EXTENSION)
    return store
