"""Keys ``loom standalone`` generates when none is configured, kept in LOOM_HOME.

A production deployment configures ``core.fernet_key`` and ``webserver.secret_key``;
``loom standalone`` needs no configuration, so it generates each once into a file of
LOOM_HOME (mode 0600) and reads it back on later starts. ``loom config show`` names
the file instead of an empty value.
"""

from __future__ import annotations

from pathlib import Path

FERNET_KEY_FILE = "fernet_key"
"""Where standalone keeps its generated ``core.fernet_key``."""

WEBSERVER_SECRET_FILE = "webserver_secret_key"
"""Where standalone keeps its generated ``webserver.secret_key``."""

GENERATED_FILES = {
    "core.fernet_key": FERNET_KEY_FILE,
    "webserver.secret_key": WEBSERVER_SECRET_FILE,
}
"""Each generated setting (``section.key``) with its file."""


def generated_key_file(home: Path, key: str) -> Path | None:
    """The file standalone generated for setting ``key`` in ``home``; None if there is none."""
    name = GENERATED_FILES.get(key)
    if name is None or not (home / name).is_file():
        return None
    return home / name
