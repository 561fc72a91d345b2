"""Databases prepared once per test session and copied for each test.

Bringing an empty database to Loom's newest schema runs every Alembic revision: about
0.5 s on PostgreSQL and 0.2 s on SQLite, paid by some thousand tests a run. A test that
wants a migrated (or further prepared) database gets a copy of one prepared the same way
at its first use instead: a PostgreSQL ``CREATE DATABASE ... TEMPLATE``, a SQLite file
backup. A copy holds what preparing it afresh would: the same schema, the same rows.
Tests of the migrations themselves still start from an empty database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path

from tests.support.services import fresh_postgres_database

Prepare = Callable[[str], object]
"""Brings the database at a URL to what the template holds."""


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class TemplateDatabases:
    """Each template is prepared by its ``prepare`` on first use, under a name (``key``)
    that says what it holds; PostgreSQL templates are dropped by :meth:`close`."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._sqlite: dict[str, Path] = {}
        self._postgres: dict[str, str] = {}
        self._dropped = ExitStack()

    def sqlite(self, key: str, prepare: Prepare, target: Path) -> str:
        """The URL of ``target``, a copy of the SQLite template ``key``."""
        if key not in self._sqlite:
            path = self._folder / f"{key}.db"
            prepare(sqlite_url(path))
            self._sqlite[key] = path
        # sqlite3's backup copies a consistent image whatever the journal holds
        source, copy = sqlite3.connect(self._sqlite[key]), sqlite3.connect(target)
        with closing(source), closing(copy):
            source.backup(copy)
        return sqlite_url(target)

    @contextmanager
    def postgres(self, key: str, prepare: Prepare) -> Iterator[str]:
        """A fresh PostgreSQL database copied from the template ``key``, dropped
        afterwards."""
        if key not in self._postgres:
            url = self._dropped.enter_context(fresh_postgres_database())
            prepare(url)  # disposes of its engines: a template takes no connections
            self._postgres[key] = url.rpartition("/")[2]
        with fresh_postgres_database(template=self._postgres[key]) as url:
            yield url

    def close(self) -> None:
        self._dropped.close()
