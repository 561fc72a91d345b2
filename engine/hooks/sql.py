"""``DbApiHook``: SQL on a connection's database, through SQLAlchemy (Airflow's surface).

The connection's ``conn_type`` picks the database: ``postgres`` / ``postgresql`` (psycopg
3; ``schema`` is the database, ``extra`` keys are libpq parameters such as ``sslmode``)
or ``sqlite`` (``host``, else ``schema``, is the file's path). Statements run on a DB-API
cursor, so ``parameters`` take the driver's placeholders, as in Airflow: ``%s`` /
``%(name)s`` for PostgreSQL, ``?`` / ``:name`` for SQLite. Each call opens its own
connection and closes it (no pool is kept between tasks). SQLAlchemy is imported on first
use, so importing this module stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any, ClassVar

from engine.authoring.connection import Connection
from engine.errors import HookError
from engine.execution.secrets import BaseHook
from engine.hooks.sqltext import split_statements as split_sql

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

logger = logging.getLogger(__name__)

DRIVERS = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg", "sqlite": "sqlite"}
"""SQLAlchemy drivers by connection type: the types the SQL hooks speak."""

_NOT_LIBPQ = frozenset({"cursor", "iam", "redshift", "aws_conn_id", "cluster-identifier"})
"""Extra keys Airflow's PostgresHook reads itself rather than passing to the driver."""

SUCCESS_MESSAGE = "Connection successfully tested"

Parameters = Mapping[str, Any] | Iterable[Any] | None


def fetch_all_handler(cursor: Any) -> list[tuple[Any, ...]] | None:
    """Every row of the statement's result; None for a statement that returns none."""
    return list(cursor.fetchall()) if cursor.description is not None else None


def fetch_one_handler(cursor: Any) -> tuple[Any, ...] | None:
    """The first row of the statement's result; None when there is none."""
    return cursor.fetchone() if cursor.description is not None else None


class DbApiHook(BaseHook):
    """SQL on connection ``conn_id`` (see the module docstring).

    ``DbApiHook("warehouse")``, ``DbApiHook(conn_id="warehouse")``, or a subclass's own
    keyword (``PostgresHook(postgres_conn_id=...)``, ``SqliteHook(sqlite_conn_id=...)``);
    ``schema`` names another PostgreSQL database than the connection's.
    """

    conn_name_attr: ClassVar[str] = "conn_id"
    default_conn_name: ClassVar[str] = "default_conn_id"

    def __init__(
        self,
        *args: str,
        connection: Connection | None = None,
        schema: str | None = None,
        log_sql: bool = True,
        **kwargs: Any,
    ) -> None:
        names = {self.conn_name_attr, "conn_id"}
        unknown = sorted(set(kwargs) - names)
        if unknown or len(args) > 1:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {unknown or args}")
        given = [kwargs[name] for name in names if kwargs.get(name)] + list(args)
        self.conn_id: str = given[0] if given else self.default_conn_name
        setattr(self, self.conn_name_attr, self.conn_id)
        self.connection = connection
        self.schema = schema
        self.log_sql = log_sql
        self._engine: Engine | None = None

    # -- where ------------------------------------------------------------------------------

    def get_db_connection(self) -> Connection:
        """The connection (looked up once: environment, secrets backend, database)."""
        if self.connection is None:
            self.connection = self.get_connection(self.conn_id)
        return self.connection

    @property
    def dialect_name(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return self.sqlalchemy_url.get_backend_name()

    @property
    def sqlalchemy_url(self) -> URL:
        """The connection as a SQLAlchemy URL; HookError for a type no hook speaks."""
        from sqlalchemy.engine import URL

        conn = self.get_db_connection()
        driver = DRIVERS.get((conn.conn_type or "").lower())
        if driver is None:
            raise HookError(
                f"connection {conn.conn_id!r} has conn_type {conn.conn_type!r}; the SQL hooks"
                f" support {', '.join(sorted(DRIVERS))}"
            )
        if driver == "sqlite":
            return URL.create("sqlite", database=conn.host or conn.schema or None)
        query = {k: str(v) for k, v in conn.extra_dejson.items() if k not in _NOT_LIBPQ}
        return URL.create(
            driver,
            username=conn.login,
            password=conn.password,
            host=conn.host,
            port=conn.port,
            database=self.schema or conn.schema,
            query=query,
        )

    def get_uri(self) -> str:
        """The SQLAlchemy URL, password included (``postgresql+psycopg://u:p@h:5432/db``)."""
        return self.sqlalchemy_url.render_as_string(hide_password=False)

    def get_sqlalchemy_engine(self, engine_kwargs: Mapping[str, Any] | None = None) -> Engine:
        """A SQLAlchemy engine on the database; it keeps no connection open between uses."""
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        if engine_kwargs:
            return sa.create_engine(self.sqlalchemy_url, **{"poolclass": NullPool, **engine_kwargs})
        if self._engine is None:
            self._engine = sa.create_engine(self.sqlalchemy_url, poolclass=NullPool)
        return self._engine

    def get_conn(self) -> Any:
        """A DB-API connection (close it when done)."""
        return self.get_sqlalchemy_engine().raw_connection()

    # -- running ----------------------------------------------------------------------------

    def run(
        self,
        sql: str | Iterable[str],
        autocommit: bool = False,
        parameters: Parameters = None,
        handler: Callable[[Any], Any] | None = None,
        split_statements: bool = False,
        return_last: bool = True,
    ) -> Any:
        """Run ``sql`` (one string, split on ``;`` when ``split_statements``, or a list) in
        one transaction, committed at the end (each statement at once with
        ``autocommit``). Without ``handler`` the result is None; with one, its result on
        the last statement when ``sql`` is one string and ``return_last`` (or not split),
        else a list with one result per statement."""
        statements = self._statements(sql, split_statements)
        results = []
        with closing(self.get_conn()) as conn:
            self._set_autocommit(conn, autocommit)
            with closing(conn.cursor()) as cursor:
                for statement in statements:
                    self._execute(cursor, statement, parameters)
                    if handler is not None:
                        results.append(handler(cursor))
            if not autocommit:
                conn.commit()
        if handler is None:
            return None
        if isinstance(sql, str) and (return_last or not split_statements):
            return results[-1]
        return results

    def _statements(self, sql: str | Iterable[str], split: bool) -> list[str]:
        if isinstance(sql, str):
            statements = split_sql(sql) if split else [sql.strip()]
        else:
            statements = [str(statement).strip() for statement in sql]
        statements = [statement for statement in statements if statement]
        if not statements:
            raise ValueError("List of SQL statements is empty")
        return statements

    def _set_autocommit(self, conn: Any, autocommit: bool) -> None:
        # SQLite has no autocommit switch worth using: the commit at the end does the same.
        if autocommit and self.dialect_name == "postgresql":
            conn.dbapi_connection.autocommit = True

    def _execute(self, cursor: Any, statement: str, parameters: Parameters) -> None:
        if self.log_sql:
            logger.info("Running statement: %s, parameters: %s", statement, parameters)
        if parameters is None:
            cursor.execute(statement)
        else:
            cursor.execute(statement, parameters)
        if cursor.rowcount >= 0:
            logger.info("Rows affected: %s", cursor.rowcount)

    def get_records(self, sql: str | Iterable[str], parameters: Parameters = None) -> Any:
        """Every row of ``sql``'s result, as tuples."""
        return self.run(sql, parameters=parameters, handler=fetch_all_handler)

    def get_first(self, sql: str | Iterable[str], parameters: Parameters = None) -> Any:
        """The first row of ``sql``'s result; None when there is none."""
        return self.run(sql, parameters=parameters, handler=fetch_one_handler)

    def insert_rows(
        self,
        table: str,
        rows: Iterable[Sequence[Any]],
        target_fields: Sequence[str] | None = None,
        commit_every: int = 1000,
        replace: bool = False,
        *,
        replace_index: str | Sequence[str] | None = None,
    ) -> None:
        """Insert ``rows`` into ``table``, committing every ``commit_every`` rows (0: once).
        ``replace`` overwrites rows with the same key: SQLite's ``REPLACE INTO``, on
        PostgreSQL ``ON CONFLICT (replace_index) DO UPDATE`` (needs ``target_fields``)."""
        rows = list(rows)
        if not rows:
            return
        fields, width = target_fields, len(rows[0])
        statement = self._insert_statement(table, width, fields, replace, replace_index)
        chunk = commit_every if commit_every > 0 else len(rows)
        with closing(self.get_conn()) as conn, closing(conn.cursor()) as cursor:
            for start in range(0, len(rows), chunk):
                cursor.executemany(statement, [tuple(row) for row in rows[start : start + chunk]])
                conn.commit()
        logger.info("Done loading. Loaded a total of %s rows into %s", len(rows), table)

    def _insert_statement(
        self,
        table: str,
        width: int,
        fields: Sequence[str] | None,
        replace: bool,
        replace_index: str | Sequence[str] | None,
    ) -> str:
        placeholder = "?" if self.dialect_name == "sqlite" else "%s"
        columns = f" ({', '.join(fields)})" if fields else ""
        values = ", ".join([placeholder] * width)
        if not replace:
            return f"INSERT INTO {table}{columns} VALUES ({values})"
        if self.dialect_name == "sqlite":
            return f"REPLACE INTO {table}{columns} VALUES ({values})"
        if not fields or not replace_index:
            raise ValueError("replace on PostgreSQL needs target_fields and replace_index")
        keys = [replace_index] if isinstance(replace_index, str) else list(replace_index)
        updates = ", ".join(f"{f} = excluded.{f}" for f in fields if f not in keys)
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        return (
            f"INSERT INTO {table}{columns} VALUES ({values}) "
            f"ON CONFLICT ({', '.join(keys)}) {action}"
        )

    def test_connection(self) -> tuple[bool, str]:
        """Connect and run ``SELECT 1``: (True, a message) or (False, the reason)."""
        try:
            self.get_first("SELECT 1")
        except Exception as error:  # noqa: BLE001 - any failure is the answer, whatever raised it
            return False, f"{type(error).__name__}: {error}".strip()
        return True, SUCCESS_MESSAGE


SqlHook = DbApiHook


class PostgresHook(DbApiHook):
    """A :class:`DbApiHook` named as Airflow's: ``PostgresHook(postgres_conn_id=...)``."""

    conn_name_attr: ClassVar[str] = "postgres_conn_id"
    default_conn_name: ClassVar[str] = "postgres_default"


class SqliteHook(DbApiHook):
    """A :class:`DbApiHook` named as Airflow's: ``SqliteHook(sqlite_conn_id=...)``."""

    conn_name_attr: ClassVar[str] = "sqlite_conn_id"
    default_conn_name: ClassVar[str] = "sqlite_default"
