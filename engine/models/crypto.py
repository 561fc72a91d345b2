"""Encryption at rest of variables' values and connections' secrets, with Fernet.

The key comes from ``core.fernet_key`` (comma-separated keys, the newest first: a
:class:`~cryptography.fernet.MultiFernet` encrypts with the first and decrypts with any),
else from ``<LOOM_HOME>/fernet_key`` (written by ``loom standalone``). Without a key,
values are stored as they are and flagged ``is_encrypted = false`` (Airflow's behaviour
with an empty key), and a warning says so once per process.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from engine.errors import ConfigError
from engine.runtime.generated import FERNET_KEY_FILE

if TYPE_CHECKING:
    from engine.config import Settings

logger = logging.getLogger(__name__)

KEY_FILE = FERNET_KEY_FILE
"""Where standalone keeps its generated key, in LOOM_HOME (mode 0600)."""

_warned = False


class Crypter:
    """Encrypts and decrypts secret fields; a Crypter without keys stores plain text."""

    def __init__(self, keys: list[str]) -> None:
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys]) if keys else None
        except ValueError as error:
            raise ConfigError(
                "core.fernet_key: each key must be 32 url-safe base64-encoded bytes "
                f"(Fernet.generate_key()): {error}"
            ) from None

    @property
    def enabled(self) -> bool:
        return self._fernet is not None

    def encrypt(self, value: str) -> tuple[str, bool]:
        """``(stored text, is_encrypted)`` for ``value``."""
        if self._fernet is None:
            _warn_once()
            return value, False
        return self._fernet.encrypt(value.encode()).decode(), True

    def decrypt(self, stored: str, is_encrypted: bool) -> str:
        if not is_encrypted:
            return stored
        if self._fernet is None:
            raise ConfigError("a value is encrypted but no core.fernet_key is configured")
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "cannot decrypt a stored value with core.fernet_key: the key that "
                "encrypted it is not among the configured keys"
            ) from None

    def rotate(self, stored: str) -> str:
        """``stored`` (a token) encrypted again with the first key."""
        if self._fernet is None:
            raise ConfigError("rotating needs core.fernet_key")
        try:
            return self._fernet.rotate(stored.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "cannot rotate a stored value: no configured key decrypts it"
            ) from None


def crypter_for(settings: Settings) -> Crypter:
    """The :class:`Crypter` of ``settings``: its fernet_key, else the key file in home."""
    keys = [key.strip() for key in settings.core.fernet_key.split(",") if key.strip()]
    if not keys:
        path = Path(settings.home) / KEY_FILE
        if path.is_file():
            keys = [path.read_text().strip()]
    return Crypter(keys)


def ensure_key_file(home: Path) -> Path:
    """Create ``<home>/fernet_key`` (mode 0600) with a new key unless it exists."""
    path = home / KEY_FILE
    if path.exists():
        return path
    home.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")
    logger.info("generated a Fernet key in %s", path)
    return path


def _warn_once() -> None:
    global _warned
    if not _warned:
        _warned = True
        logger.warning(
            "no core.fernet_key: variables and connection secrets are stored unencrypted"
        )
