"""Database engines and sessions: SQLite for ``loom standalone``, PostgreSQL in production.

Nothing here reads configuration: callers pass the URL, or the ``database`` settings
(:func:`engine_for`, what every long-lived process uses, so that each honours them all).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from engine.config.schema import DatabaseSettings

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for a lock held by another process."""


def create_db_engine(url: str, *, echo: bool = False, pool_size: int = 5) -> Engine:
    """An :class:`Engine` for ``url``, tuned for Loom's use of SQLite or PostgreSQL.

    SQLite gets its parent directory created and, on every connection, foreign keys on,
    write-ahead logging and a busy timeout. A ``postgresql://`` URL without a driver is
    served by psycopg 3; PostgreSQL connections are checked before use.
    """
    parsed = _with_driver(make_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo=echo, pool_size=pool_size)
    return sa.create_engine(parsed, echo=echo, pool_size=pool_size, pool_pre_ping=True)


def engine_for(database: DatabaseSettings) -> Engine:
    """The engine of the ``database`` settings: URL, pool size and statement echo."""
    return create_db_engine(database.url, echo=database.echo, pool_size=database.pool_size)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` whose objects stay readable after the commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def _with_driver(url: URL) -> URL:
    if url.drivername in {"postgresql", "postgres"}:
        return url.set(drivername="postgresql+psycopg")
    return url


def _sqlite_engine(url: URL, *, echo: bool, pool_size: int) -> Engine:
    database = url.database or ""
    in_memory = database in {"", ":memory:"} or database.startswith("file:")
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {} if in_memory else {"pool_size": pool_size}
    engine = sa.create_engine(url, echo=echo, **kwargs)
    sa.event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()
