"""Masking secrets in configuration values: by key name, and passwords inside URLs."""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
_SECRET_NAMES = frozenset({"password", "secret", "secret_key", "token"})
_SECRET_SUFFIXES = ("_password", "_secret", "_token")
# scheme://user:password@ -- the password runs up to the last "@" before the path.
_URL_PASSWORD = re.compile(r"^([a-z][a-z0-9+.\-]*://[^:/?#@]*):[^/?#]*@", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    """Whether a key's value is a secret by its name (password, secret_key, api_token, ...)."""
    return key in _SECRET_NAMES or key.endswith(_SECRET_SUFFIXES)


def mask_value(value: Any, key: str = "") -> Any:
    """``value`` with secrets replaced by ``***``: under a secret key, or a password in a URL."""
    if isinstance(value, dict):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(item, key) for item in value]
    if is_secret_key(key) and value not in ("", None):  # an empty secret shows it is unset
        return MASK
    if isinstance(value, str):
        return _URL_PASSWORD.sub(rf"\1:{MASK}@", value)
    return value
