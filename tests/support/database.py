"""Session factories on a test's database, their engine disposed when the test is done."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from engine.models.session import create_db_engine, make_session_factory


@contextmanager
def database_sessions(url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on ``url``; its connections are closed on the way out."""
    engine = create_db_engine(url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()
