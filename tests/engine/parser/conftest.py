"""Helpers of the parser tests: fixture folders, DAG file sources, a migrated database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from engine.models import migrate
from engine.parser.options import ParseOptions
from engine.parser.processor import FileParseResult, parse_files
from tests.support.database import database_sessions
from tests.support.templates import TemplateDatabases

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MARKER = "# <- reported here"


def marked_line(path: Path) -> int:
    """The line of ``path`` that ends with the marker comment."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.rstrip().endswith(MARKER):
            return number
    raise AssertionError(f"{path} has no line marked {MARKER!r}")


def dag_source(
    *dag_ids: str,
    tasks: Sequence[str] = ("extract", "load"),
    paused: bool = False,
    schedule: str | None = "@daily",
) -> str:
    """A DAG file defining each of ``dag_ids`` with ``tasks`` chained in order."""
    lines = [
        "from datetime import datetime",
        "",
        "from engine import DAG, EmptyOperator, chain",
        "",
    ]
    for dag_id in dag_ids:
        lines += [
            f"with DAG({dag_id!r}, schedule={schedule!r}, start_date=datetime(2026, 1, 1),",
            "         tags=['team'], default_args={'owner': 'data'},",
            f"         is_paused_upon_creation={paused!r}) as dag:",
            f"    chain(*[EmptyOperator(task_id=t) for t in {list(tasks)!r}])",
            "",
        ]
    return "\n".join(lines)


class CountingParser:
    """The real parser, remembering which files it was asked to parse."""

    def __init__(self) -> None:
        self.parsed: list[str] = []

    def __call__(self, paths: Sequence[Path], options: ParseOptions) -> list[FileParseResult]:
        self.parsed += [path.name for path in paths]
        return parse_files(paths, options)


@pytest.fixture
def migrated_sqlite(templates: TemplateDatabases, tmp_path: Path) -> str:
    """The test's SQLite file database (``sqlite_url``'s) at the newest schema, unseeded."""
    return templates.sqlite("upgraded", migrate.upgrade, tmp_path / "loom.db")


def _sessions_at_head(url: str) -> Iterator[sessionmaker[Session]]:
    migrate.upgrade(url)
    with database_sessions(url) as factory:
        yield factory


@pytest.fixture
def db_url(migrated_sqlite: str) -> str:
    """This package's database (``sessions`` are on it): SQLite at the newest schema."""
    return migrated_sqlite


@pytest.fixture
def pg_sessions(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a fresh PostgreSQL database at the newest schema."""
    yield from _sessions_at_head(postgres_url)


@pytest.fixture
def each_db_sessions(empty_db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a database at the newest schema: SQLite, then PostgreSQL."""
    yield from _sessions_at_head(empty_db_url)
