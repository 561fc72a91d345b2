"""Counts SQL statements and transactions in every process started with this folder first
on ``PYTHONPATH`` and ``BENCH_COUNT_DIR`` set (:mod:`bench.try_cost`'s forking figure).

Each process appends one letter per event to ``$BENCH_COUNT_DIR/<pid>`` (``s`` a
statement, ``b`` the BEGIN psycopg sends before it, ``c`` a COMMIT, ``r`` a ROLLBACK),
after a first line with its parent's pid, so a forked work horse's try is told apart from
its worker. The listeners are on SQLAlchemy's Engine class: a child forked after they were
registered inherits them. Opening the file per event is slow; this run's times are not
reported.
"""

import os
from pathlib import Path

_FOLDER = os.environ.get("BENCH_COUNT_DIR")


def _install(folder: str) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def write(letter: str) -> None:
        with (Path(folder) / str(os.getpid())).open("a") as out:
            if out.tell() == 0:
                out.write(f"{os.getppid()}\n")
            out.write(letter)

    def idle(conn: object) -> bool:
        dbapi = conn.connection.dbapi_connection  # type: ignore[attr-defined]
        status = getattr(getattr(dbapi, "info", None), "transaction_status", 0)
        return bool(getattr(dbapi, "autocommit", False)) or int(status) == 0

    def statement(conn: object, *_rest: object) -> None:
        write("bs" if idle(conn) else "s")

    def commit(conn: object) -> None:
        if not idle(conn):
            write("c")

    def rollback(conn: object) -> None:
        if not idle(conn):
            write("r")

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", commit)
    event.listen(Engine, "rollback", rollback)


if _FOLDER:
    _install(_FOLDER)
