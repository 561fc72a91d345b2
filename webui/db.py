"""One database session per request, opened on first use and closed when the request ends.

Handlers that change something call :func:`commit` (the request owns the transaction);
whatever was not committed is rolled back when the session closes. What must be written
with every change (the request's audit entry) joins the transaction through
:func:`before_commit`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.models.session import engine_for, make_session_factory

EXTENSION = "loom.sessions"
BEFORE_COMMIT = "loom.before_commit"

CommitHook = Callable[[Session], None]


def init_app(app: Flask, settings: Settings) -> None:
    """Create the engine for ``settings.database.url`` and close sessions after requests."""
    app.extensions[EXTENSION] = make_session_factory(engine_for(settings.database))
    app.teardown_appcontext(_close)


def sessions() -> sessionmaker[Session]:
    """The app's session factory (for work outside the request's transaction)."""
    return cast("sessionmaker[Session]", current_app.extensions[EXTENSION])


def session() -> Session:
    """This request's session."""
    if "loom_db" not in g:
        g.loom_db = sessions()()
    return cast(Session, g.loom_db)


def before_commit(app: Flask, hook: CommitHook) -> None:
    """Have :func:`commit` call ``hook(session)`` inside the transaction, before committing."""
    app.extensions.setdefault(BEFORE_COMMIT, []).append(hook)


def commit() -> None:
    """Commit this request's transaction, with what the before-commit hooks add to it.

    A hook that fails fails the commit: then nothing of the transaction is kept.
    """
    current = session()
    for hook in current_app.extensions.get(BEFORE_COMMIT, ()):
        hook(current)
    current.commit()
    g.loom_committed = True


def committed() -> bool:
    """Whether this request committed a transaction."""
    return bool(g.get("loom_committed"))


def _close(_exc: Any) -> None:
    db = g.pop("loom_db", None)
    if db is not None:
        db.close()


def dispose(app: Flask) -> None:
    """Close every pooled database connection of ``app`` (tests, shutdown)."""
    factory = app.extensions.get(EXTENSION)
    if factory is not None:
        factory.kw["bind"].dispose()
