"""Alembic environment: runs on the connection :mod:`engine.models.migrate` hands over.

Run through ``loom db upgrade`` (or :func:`engine.models.migrate.upgrade`); it passes an open
connection in ``config.attributes["connection"]``. Without one, an engine is made from
``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection, make_url

from engine.models.session import create_db_engine
from migrations import migration_options

config = context.config


def run_offline() -> None:
    """Emit the SQL instead of running it (``alembic upgrade --sql``)."""
    url = config.get_main_option("sqlalchemy.url") or ""
    context.configure(
        url=url, literal_binds=True, **migration_options(make_url(url).get_backend_name())
    )
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    """Run the migrations on ``connection``."""
    context.configure(connection=connection, **migration_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the handed-over connection, or on a new engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = create_db_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            run_on(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
