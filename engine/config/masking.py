"""Masking secrets in configuration values: by key name, passwords inside URLs, and
values at given key paths (those read from SSM SecureStrings)."""

from __future__ import annotations

import re
from collections.abc import Iterable
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


def mask_paths(data: dict[str, Any], paths: Iterable[tuple[str, ...]]) -> None:
    """Replace the values at ``paths`` in ``data`` by ``***``, in place.

    A path that goes deeper than the data (an item of a comma-separated string that
    validation turned into a list) masks the deepest value it reaches.
    """
    for path in paths:
        parent: Any = None
        node: Any = data
        step: Any = None
        for part in path:
            child = _child_key(node, part)
            if child is None:
                break
            parent, step, node = node, child, node[child]
        if parent is not None and node not in ("", None):
            parent[step] = MASK


def _child_key(node: Any, part: str) -> str | int | None:
    if isinstance(node, dict):
        return part if part in node else None
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return int(part)
    return None
