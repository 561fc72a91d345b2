"""A module-wide app whose SQLite file is put back from its template when a request may
have changed it: one app serves hundreds of parametrized requests, each on the template's
data, without building an app per request."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from webui.db import dispose


@dataclass
class ResettableApp:
    """``app`` on the SQLite file ``db_file``, a copy of the database file ``template``."""

    app: Flask
    template: Path
    db_file: Path
    dirty: bool = False
    """Set when a request may have changed the database."""

    def reset(self) -> None:
        """Copy the template back when the database is dirty (connections closed first)."""
        if not self.dirty:
            return
        dispose(self.app)
        for suffix in ("-wal", "-shm"):
            Path(f"{self.db_file}{suffix}").unlink(missing_ok=True)
        shutil.copy(self.template, self.db_file)
        self.dirty = False
