"""Schema migrations (Alembic, driven programmatically) and the rows every database needs.

No ``alembic.ini``: :func:`alembic_config` points Alembic at the ``migrations`` package.
Each function takes the database URL, opens its own engine and disposes of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.schema import SchemaItem

from engine.models import Base, Pool
from engine.models.session import create_db_engine, make_session_factory
from engine.priority import DEFAULT_POOL
from engine.security.roles import sync_builtin_roles
from migrations import SCRIPT_LOCATION, migration_options

DEFAULT_POOL_SLOTS = 128
"""Slots of ``default_pool`` when it is first created."""


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` whose scripts are the ``migrations`` package."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head() -> str:
    """The newest revision."""
    revision = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert revision is not None, "the migrations package has no revision"
    return revision


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision``."""
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``base`` drops everything)."""
    _run(url, lambda config: command.downgrade(config, revision))


def current(url: str) -> str | None:
    """The database's revision; None when it was never migrated."""
    with _connection(url) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def check(url: str) -> list[str]:
    """Problems with the database's schema: not at head, or different from the models.

    An empty list means the database is up to date.
    """
    with _connection(url) as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        if revision != head():
            return [f"database is at revision {revision or 'base'}, not at head {head()}"]
        options = migration_options(connection.dialect.name)
        context = MigrationContext.configure(connection, opts=options)
        return [_describe(diff) for diff in compare_metadata(context, Base.metadata)]


def seed(*, session: Session) -> None:
    """Add the rows every database needs (builtin roles, ``default_pool``). Idempotent."""
    sync_builtin_roles(session=session)
    ensure_default_pool(session=session)


def ensure_default_pool(*, session: Session) -> Pool:
    """``default_pool``, created with 128 slots when absent (never resized)."""
    pool = session.get(Pool, DEFAULT_POOL)
    if pool is None:
        pool = Pool(
            name=DEFAULT_POOL, slots=DEFAULT_POOL_SLOTS, description="Default pool of every task"
        )
        session.add(pool)
        session.flush()
    return pool


def upgrade_and_seed(url: str, revision: str = "head") -> str | None:
    """Upgrade to ``revision``, seed when that is the head; returns the new revision."""
    upgrade(url, revision)
    now = current(url)
    if now == head():
        engine = create_db_engine(url)
        try:
            with make_session_factory(engine).begin() as session:
                seed(session=session)
        finally:
            engine.dispose()
    return now


@contextmanager
def _connection(url: str) -> Iterator[Connection]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _run(url: str, step: Callable[[Config], None]) -> None:
    """Run an Alembic command in one transaction, SQLite foreign keys off meanwhile.

    With foreign keys on, the table rebuilds of SQLite batch migrations would cascade
    deletes into referencing tables.
    """
    config = alembic_config(url)
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            config.attributes["connection"] = connection
            step(config)
    finally:
        engine.dispose()


def _describe(diff: Any) -> str:
    """One line for one difference ``compare_metadata`` found."""
    if isinstance(diff, list):
        return "; ".join(_describe(d) for d in diff)
    op = diff[0]
    if op.startswith("modify_"):
        _op, _schema, table, column, _existing, old, new = diff
        return f"{op} {table}.{column}: {old!r} -> {new!r}"
    names = [_name(arg) for arg in diff[1:] if isinstance(arg, SchemaItem)]
    return f"{op} {', '.join(names)}" if names else repr(diff)


def _name(item: SchemaItem) -> str:
    if isinstance(item, sa.Column) and item.table is not None:
        return f"{item.table.name}.{item.name}"
    return str(getattr(item, "name", item))
