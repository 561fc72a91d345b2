"""Which hook speaks a connection's type, and testing a connection with it.

``loom connections test`` and ``POST /api/v2/connections/test`` call
:func:`test_connection`: it runs no user code, only the hook's own check (``SELECT 1``
for a database, a request to the base URL for HTTP).
"""

from __future__ import annotations

from engine.authoring.connection import Connection
from engine.hooks.http import HttpHook
from engine.hooks.sql import DRIVERS, DbApiHook

HTTP_TYPES = ("http",)


def supported_types() -> list[str]:
    return sorted([*DRIVERS, *HTTP_TYPES])


def hook_for(conn: Connection) -> DbApiHook | HttpHook | None:
    """A hook on ``conn`` by its type (HTTP requests are GETs); None for another type."""
    conn_type = (conn.conn_type or "").lower()
    if conn_type in DRIVERS:
        return DbApiHook(conn.conn_id or "", connection=conn)
    if conn_type in HTTP_TYPES:
        return HttpHook("GET", http_conn_id=conn.conn_id or "", connection=conn)
    return None


def test_connection(conn: Connection) -> tuple[bool, str]:
    """(True, a message) when ``conn`` answers its hook's check; else (False, the reason)."""
    hook = hook_for(conn)
    if hook is None:
        return False, (
            f"cannot test conn_type {conn.conn_type!r}: Loom has hooks for"
            f" {', '.join(supported_types())}"
        )
    return hook.test_connection()
