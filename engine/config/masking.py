"""Masking secrets, the one home for it: configuration values (by key name, at key paths
read from SSM SecureStrings) and URLs, wherever they are shown or logged (``loom config
show``, configuration errors, alert deliveries' ``last_error``, the notifier's log).

Two kinds of secret live in URLs:

- a password in the userinfo (``redis://user:pass@host/0``): masked in every URL, even
  when it holds ``/``, ``@`` or ``:`` (it runs up to the last ``@`` before a ``?``, a
  ``#`` or a blank);
- for webhook URLs, the credential is usually the path or the query
  (``https://hooks.slack.com/services/T0/B0/XXXX``): ``hide_path`` keeps only the scheme
  and the host (``https://hooks.slack.com/***``), and masks any userinfo whole.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
_SECRET_NAMES = frozenset({"password", "secret", "secret_key", "token", "fernet_key"})
_SECRET_SUFFIXES = ("_password", "_secret", "_token")

_SCHEME = r"[a-z][a-z0-9+.\-]*://"
_START = re.compile(_SCHEME, re.IGNORECASE)
_USER_AND_PASSWORD = re.compile(rf"({_SCHEME})([^:/?#@\s]*):[^?#\s]*@", re.IGNORECASE)
"""``scheme://user:password@``; the password may hold ``/``, ``@`` and ``:``."""
_USER_ONLY = re.compile(rf"({_SCHEME})[^:/?#@\s]*@", re.IGNORECASE)
_URL_IN_TEXT = re.compile(rf"(?<![\w+.\-]){_SCHEME}[^\s'\"<>]+", re.IGNORECASE)
_TRAILING = ".,;:!)]}"
"""Punctuation after a URL in a sentence ("cannot reach https://h/x: refused")."""
_WEBHOOKS = "webhooks"


def is_secret_key(key: str) -> bool:
    """Whether a key's value is a secret by its name (password, secret_key, api_token, ...)."""
    return key in _SECRET_NAMES or key.endswith(_SECRET_SUFFIXES)


def mask_url(url: str, *, hide_path: bool = False) -> str:
    """``url`` with the password of its userinfo replaced by ``***``.

    ``hide_path`` (webhook URLs) also masks the whole userinfo and everything after the
    host: ``https://hooks.slack.com/services/T0/B0/XXXX`` → ``https://hooks.slack.com/***``.
    A string that is not a URL comes back unchanged.
    """
    start = _START.match(url)
    if start is None:
        return url
    scheme, rest, userinfo = start.group(0), url[start.end() :], ""
    with_password = _USER_AND_PASSWORD.match(url)
    user_only = _USER_ONLY.match(url) if hide_path else None
    if with_password is not None:
        rest = url[with_password.end() :]
        userinfo = f"{MASK}@" if hide_path else f"{with_password.group(2)}:{MASK}@"
    elif user_only is not None:
        rest, userinfo = url[user_only.end() :], f"{MASK}@"
    if hide_path:
        rest = _host_only(rest)
    return scheme + userinfo + rest


def mask_urls_in(text: str, *, hide_paths: bool = False) -> str:
    """``text`` (an error message, a log line) with every URL in it masked by :func:`mask_url`."""

    def masked(found: re.Match[str]) -> str:
        token = found.group(0)
        url = token.rstrip(_TRAILING)
        return mask_url(url, hide_path=hide_paths) + token[len(url) :]

    return _URL_IN_TEXT.sub(masked, text)


def mask_value(value: Any, key: str = "", *, within: tuple[str, ...] = ()) -> Any:
    """``value`` with secrets replaced by ``***``: under a secret key, or in a URL.

    ``within`` is the key path above ``key`` (``("webhooks", "ops")`` for
    ``webhooks.ops.url``): a webhook's URL keeps only its scheme and host.
    """
    if isinstance(value, dict):
        path = (*within, key) if key else within
        return {k: mask_value(v, str(k), within=path) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(item, key, within=within) for item in value]
    if is_secret_key(key) and value not in ("", None):  # an empty secret shows it is unset
        return MASK
    if isinstance(value, str):
        return mask_urls_in(value, hide_paths=_is_webhook_url(within, key))
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


class MaskUrls(logging.Filter):
    """A logger filter that masks URLs in the records it passes, traceback included.

    For loggers whose messages carry webhook URLs (the notifier's): ``hide_paths``.
    Records are rewritten once, before any handler formats them.
    """

    def __init__(self, *, hide_paths: bool = False) -> None:
        super().__init__()
        self.hide_paths = hide_paths

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_urls_in(record.getMessage(), hide_paths=self.hide_paths)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_urls_in(record.exc_text, hide_paths=self.hide_paths)
        return True


def _host_only(rest: str) -> str:
    """``host[:port]`` of what follows the userinfo, and ``/***`` for anything after it."""
    end = next((i for i, char in enumerate(rest) if char in "/?#"), len(rest))
    tail = rest[end:]
    return rest[:end] + (f"/{MASK}" if tail.strip("/") else tail)


def _is_webhook_url(within: tuple[str, ...], key: str) -> bool:
    return key == "url" and len(within) >= 1 and within[0] == _WEBHOOKS


def _child_key(node: Any, part: str) -> str | int | None:
    if isinstance(node, dict):
        return part if part in node else None
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return int(part)
    return None


# --- secrets a task read: variables with sensitive names, connection passwords ----------

SENSITIVE_NAME_PARTS = (
    "access_token",
    "api_key",
    "apikey",
    "authorization",
    "passphrase",
    "passwd",
    "password",
    "private_key",
    "secret",
    "token",
)
"""A variable (or extra field) whose name contains one of these is sensitive (Airflow's
list): its value is shown as ``***`` in the API and masked in task logs."""

MIN_MASKED_LENGTH = 5
"""Shorter values are not masked in logs (Airflow's ``min_length_masked_secret``): masking
``"ab"`` everywhere would garble the log without hiding anything."""

_registered: set[str] = set()


def is_sensitive_name(name: str) -> bool:
    """Whether ``name`` (a variable key) names a secret, by Airflow's sensitive names."""
    lowered = name.lower()
    return any(part in lowered for part in SENSITIVE_NAME_PARTS)


def register_secret(value: str) -> None:
    """Mask ``value`` in this process's task logs from now on (a try runs in its own
    process or work horse, so the set lives as long as the try)."""
    if len(value) >= MIN_MASKED_LENGTH:
        _registered.add(value)


def forget_secrets() -> None:
    """Stop masking what :func:`register_secret` registered (a process reused for
    unrelated work, and tests)."""
    _registered.clear()


def redact_secrets(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``, the longest first."""
    if not _registered or not text:
        return text
    for secret in sorted(_registered, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redact_secrets_in(value: Any) -> Any:
    """:func:`redact_secrets` applied to every string in a JSON-like value (rendered
    template fields, which may hold ``{{ conn.x.password }}``)."""
    if isinstance(value, str):
        return redact_secrets(value)
    if isinstance(value, dict):
        return {k: redact_secrets_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_secrets_in(item) for item in value]
    return value
