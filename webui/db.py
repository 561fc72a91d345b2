"""One database session per request, opened on first use and closed when the request ends.

Handlers that change something call :func:`commit` (the request owns the transaction);
whatever was not committed is rolled back when the session closes.
"""

from __future__ import annotations

from typing import Any, cast

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.db import create_db_engine, make_session_factory

EXTENSION = "loom.sessions"


def init_app(app: Flask, settings: Settings) -> None:
    """Create the engine for ``settings.database.url`` and close sessions after requests."""
    db = settings.database
    engine = create_db_engine(db.url, echo=db.echo, pool_size=db.pool_size)
    app.extensions[EXTENSION] = make_session_factory(engine)
    app.teardown_appcontext(_close)


def sessions() -> sessionmaker[Session]:
    """The app's session factory (for work outside the request's transaction)."""
    return cast("sessionmaker[Session]", current_app.extensions[EXTENSION])


def session() -> Session:
    """This request's session."""
    if "loom_db" not in g:
        g.loom_db = sessions()()
    return cast(Session, g.loom_db)


def commit() -> None:
    """Commit this request's transaction."""
    session().commit()


def _close(_exc: Any) -> None:
    db = g.pop("loom_db", None)
    if db is not None:
        db.close()


def dispose(app: Flask) -> None:
    """Close every pooled database connection of ``app`` (tests, shutdown)."""
    factory = app.extensions.get(EXTENSION)
    if factory is not None:
        factory.kw["bind"].dispose()
