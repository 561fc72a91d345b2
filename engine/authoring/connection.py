"""``Connection``: where a system is and how to sign in, as a task sees it.

Airflow's two text forms are understood: the URI form
(``postgresql://user:pa%40ss@host:5432/db?sslmode=require``; every part percent-decoded,
the query becoming ``extra``, or ``__extra__=<json>`` carrying nested extra whole) and the
JSON form (``{"conn_type": ..., "host": ..., "extra": {...}}``). No database here: the
lookup is :mod:`engine.execution.secrets`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from engine.errors import InvalidInputError

FIELDS = ("conn_type", "description", "host", "login", "password", "schema", "port", "extra")
"""The fields of the JSON form, in Airflow's order."""

_EXTRA_PARAM = "__extra__"


class Connection:
    """A connection; ``uri=`` parses the URI form, the other arguments set fields."""

    def __init__(
        self,
        conn_id: str | None = None,
        conn_type: str | None = None,
        description: str | None = None,
        host: str | None = None,
        login: str | None = None,
        password: str | None = None,
        schema: str | None = None,
        port: int | None = None,
        extra: str | dict[str, Any] | None = None,
        uri: str | None = None,
    ) -> None:
        self.conn_id = conn_id
        self.description = description
        if uri is not None:
            if any(v is not None for v in (conn_type, host, login, password, schema, port)):
                raise InvalidInputError("give a connection either uri or its fields, not both")
            self._parse(uri)
            if extra is not None:
                self.extra = _extra_text(extra)
            return
        self.conn_type = conn_type
        self.host = host
        self.login = login
        self.password = password
        self.schema = schema
        self.port = _port(port)
        self.extra = _extra_text(extra)

    def __repr__(self) -> str:
        return f"Connection({self.conn_id!r}, conn_type={self.conn_type!r}, host={self.host!r})"

    @classmethod
    def from_text(cls, conn_id: str, text: str) -> Connection:
        """A connection from either form: JSON when ``text`` starts with ``{``."""
        stripped = text.strip()
        if stripped.startswith("{"):
            return cls.from_json(conn_id, stripped)
        return cls(conn_id=conn_id, uri=stripped)

    @classmethod
    def from_json(cls, conn_id: str, text: str | dict[str, Any]) -> Connection:
        """A connection from Airflow's JSON form (a JSON object, or its text)."""
        try:
            data = json.loads(text) if isinstance(text, str) else dict(text)
        except ValueError as error:
            raise InvalidInputError(f"connection {conn_id!r}: not JSON: {error}") from None
        if not isinstance(data, dict):
            raise InvalidInputError(f"connection {conn_id!r}: JSON form must be an object")
        unknown = sorted(set(data) - set(FIELDS) - {"conn_id"})
        if unknown:
            raise InvalidInputError(f"connection {conn_id!r}: unknown fields {unknown}")
        fields = {k: v for k, v in data.items() if k != "conn_id"}
        return cls(conn_id=conn_id, **fields)

    @property
    def extra_dejson(self) -> dict[str, Any]:
        """``extra`` as a dict; {} when empty or not a JSON object."""
        if not self.extra:
            return {}
        try:
            value = json.loads(self.extra)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def get_uri(self) -> str:
        """The URI form; extra as query parameters, or ``__extra__`` when it is nested."""
        uri = f"{(self.conn_type or '').replace('_', '-')}://"
        if self.login is not None or self.password is not None:
            uri += quote(self.login or "", safe="")
            if self.password is not None:
                uri += ":" + quote(self.password, safe="")
            uri += "@"
        uri += quote(self.host or "", safe="")
        if self.port is not None:
            uri += f":{self.port}"
        if self.schema:
            uri += "/" + quote(self.schema, safe="")
        extra = self.extra_dejson
        if extra:
            flat = all(isinstance(v, str) for v in extra.values())
            query = urlencode(extra) if flat else urlencode({_EXTRA_PARAM: json.dumps(extra)})
            uri += ("" if self.schema else "/") + "?" + query
        return uri

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``extra`` as an object when it is one)."""
        data: dict[str, Any] = {name: getattr(self, name) for name in FIELDS}
        data["extra"] = self.extra_dejson if self.extra_dejson else self.extra
        return data

    def _parse(self, uri: str) -> None:
        parts = urlsplit(uri)
        if not parts.scheme or "://" not in uri:
            raise InvalidInputError(f"connection {self.conn_id!r}: not a URI (scheme://...)")
        self.conn_type = parts.scheme.replace("-", "_")
        self.host = unquote(parts.hostname) if parts.hostname else None
        self.login = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password is not None else None
        try:
            self.port = parts.port
        except ValueError:
            raise InvalidInputError(f"connection {self.conn_id!r}: bad port in URI") from None
        self.schema = unquote(parts.path[1:]) if parts.path[1:] else None
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if _EXTRA_PARAM in query:
            self.extra = query[_EXTRA_PARAM]
        else:
            self.extra = json.dumps(query) if query else None


def _extra_text(extra: str | dict[str, Any] | None) -> str | None:
    if extra is None or isinstance(extra, str):
        return extra or None
    return json.dumps(extra)


def _port(port: object) -> int | None:
    if port in (None, ""):
        return None
    try:
        return int(str(port))
    except (TypeError, ValueError):
        raise InvalidInputError(f"port must be an integer, not {port!r}") from None
