"""``loom rotate-fernet-key``: every stored secret encrypted again with the newest key.

With ``core.fernet_key: NEW,OLD`` a token made with either key is rewritten with NEW;
a value stored in plain text (written while no key was configured) is encrypted too.
Afterwards OLD may be dropped from the setting. Never commits.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import ConfigError
from engine.models.crypto import Crypter
from engine.models.secrets import StoredConnection, StoredVariable


def rotate_fernet_key(*, session: Session, crypter: Crypter) -> int:
    """Re-encrypt every variable value and connection secret; how many were rewritten."""
    if not crypter.enabled:
        raise ConfigError("rotate-fernet-key needs core.fernet_key (the new key first)")
    count = 0
    for var in session.scalars(sa.select(StoredVariable).with_for_update()):
        var.val, var.is_encrypted = _again(crypter, var.val, var.is_encrypted)
        count += 1
    for conn in session.scalars(sa.select(StoredConnection).with_for_update()):
        if conn.password:
            conn.password, conn.is_encrypted = _again(crypter, conn.password, conn.is_encrypted)
        if conn.extra:
            conn.extra, conn.is_extra_encrypted = _again(
                crypter, conn.extra, conn.is_extra_encrypted
            )
        count += 1
    session.flush()
    return count


def _again(crypter: Crypter, stored: str, is_encrypted: bool) -> tuple[str, bool]:
    if is_encrypted:
        return crypter.rotate(stored), True
    return crypter.encrypt(stored)
