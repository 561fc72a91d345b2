"""DbApiHook on a real database (SQLite and PostgreSQL) named by a connection: run and its
result shapes, parameters in the driver's style, insert_rows, URIs and connection tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import Connection, DbApiHook, PostgresHook, SqliteHook, fetch_all_handler
from engine.errors import HookError
from engine.hooks.registry import test_connection as check_connection
from engine.hooks.sqltext import split_statements


def placeholder(hook: DbApiHook) -> str:
    return "?" if hook.dialect_name == "sqlite" else "%s"


@pytest.fixture
def hook(warehouse: str) -> DbApiHook:
    hook = DbApiHook("warehouse")
    hook.run("CREATE TABLE orders (id INTEGER PRIMARY KEY, item VARCHAR(20), qty INTEGER)")
    return hook


def test_run_returns_the_last_result_or_every_result(hook: DbApiHook) -> None:
    script = "INSERT INTO orders VALUES (1, 'tea', 2); INSERT INTO orders VALUES (2, 'jam', 0);"
    hook.run(script, split_statements=True)
    both = "SELECT item FROM orders ORDER BY id; SELECT count(*) FROM orders"
    assert hook.run(both, handler=fetch_all_handler, split_statements=True) == [(2,)]
    assert hook.run(both, handler=fetch_all_handler, split_statements=True, return_last=False) == [
        [("tea",), ("jam",)],
        [(2,)],
    ]
    listed = ["SELECT qty FROM orders WHERE id = 1", "SELECT qty FROM orders WHERE id = 2"]
    assert hook.run(listed, handler=fetch_all_handler) == [[(2,)], [(0,)]]
    assert hook.run("DELETE FROM orders WHERE id = 2") is None
    assert hook.get_records("SELECT id, item FROM orders") == [(1, "tea")]


def test_parameters_use_the_drivers_placeholders(hook: DbApiHook) -> None:
    mark = placeholder(hook)
    hook.run(f"INSERT INTO orders VALUES ({mark}, {mark}, {mark})", parameters=(7, "fig", 3))
    assert hook.get_first(f"SELECT item, qty FROM orders WHERE id = {mark}", (7,)) == ("fig", 3)
    assert hook.get_first(f"SELECT item FROM orders WHERE id = {mark}", (8,)) is None


def test_a_failing_statement_rolls_back_the_whole_run(hook: DbApiHook) -> None:
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        hook.run(["INSERT INTO orders VALUES (1, 'a', 1)", "INSERT INTO orders VALUES (1, 'b', 1)"])
    assert hook.get_records("SELECT * FROM orders") == []


def test_autocommit_runs_what_a_transaction_block_refuses(hook: DbApiHook) -> None:
    hook.run("VACUUM", autocommit=True)
    if hook.dialect_name == "postgresql":
        with pytest.raises(Exception, match="cannot run inside a transaction block"):
            hook.run("VACUUM")


def test_insert_rows_in_chunks_and_replacing(hook: DbApiHook) -> None:
    rows = [(i, f"item{i}", i * 10) for i in range(1, 6)]
    hook.insert_rows("orders", rows, target_fields=["id", "item", "qty"], commit_every=2)
    assert hook.get_first("SELECT count(*), sum(qty) FROM orders") == (5, 150)
    hook.insert_rows(
        "orders", [(1, "new", 1)], ["id", "item", "qty"], replace=True, replace_index="id"
    )
    assert hook.get_records("SELECT item, qty FROM orders WHERE id = 1") == [("new", 1)]


def test_sqlalchemy_engine_and_uri(hook: DbApiHook) -> None:
    import sqlalchemy as sa

    with hook.get_sqlalchemy_engine().connect() as conn:
        assert conn.execute(sa.text("SELECT 40 + 2")).scalar() == 42
    assert hook.get_uri().startswith(("sqlite:///", "postgresql+psycopg://postgres@127.0.0.1"))
    if hook.dialect_name == "postgresql":
        other = DbApiHook("warehouse", schema="postgres")
        assert other.get_uri().endswith("/postgres")
        assert other.get_first("SELECT current_database()") == ("postgres",)


def test_split_statements_respects_quotes_comments_and_dollar_bodies() -> None:
    script = """
        -- a comment; not a statement
        INSERT INTO t VALUES ('a;b', "c;d");  /* x; y */
        CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
        SELECT 'it''s; fine'
    """
    assert split_statements(script) == [
        "-- a comment; not a statement\n        INSERT INTO t VALUES ('a;b', \"c;d\")",
        "/* x; y */\n        CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$"
        " LANGUAGE sql",
        "SELECT 'it''s; fine'",
    ]
    with pytest.raises(ValueError, match="empty"):
        DbApiHook(connection=Connection("x", conn_type="sqlite")).run(
            " ; -- nothing", split_statements=True
        )


def test_named_hooks_and_their_connection_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.db"
    monkeypatch.setenv("AIRFLOW_CONN_SQLITE_DEFAULT", f"sqlite:///{path}".replace("///", "////"))
    assert SqliteHook().get_first("SELECT 1") == (1,)
    assert path.exists()
    assert SqliteHook(sqlite_conn_id="sqlite_default").conn_id == "sqlite_default"
    assert PostgresHook("pg").conn_id == "pg"
    assert PostgresHook(postgres_conn_id="pg").postgres_conn_id == "pg"  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="mysql_conn_id"):
        PostgresHook(mysql_conn_id="pg")


def test_an_unsupported_conn_type_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_CONN_LEGACY", "mysql://u:p@db:3306/app")
    with pytest.raises(
        HookError, match=r"'legacy' has conn_type 'mysql'.*postgres, postgresql, sqlite"
    ):
        DbApiHook("legacy").get_records("SELECT 1")
    ok, message = check_connection(Connection("legacy", uri="mysql://db"))
    assert not ok
    assert "cannot test conn_type 'mysql'" in message
    assert "http" in message


def test_testing_connections(warehouse: str, tmp_path: Path) -> None:
    good = Connection.from_text("warehouse", warehouse)
    assert check_connection(good) == (True, "Connection successfully tested")
    if good.conn_type == "sqlite":
        bad = Connection("x", conn_type="sqlite", host=str(tmp_path / "missing" / "x.db"))
    else:
        bad = Connection.from_json(
            "x", {**json.loads(json.dumps(good.to_dict())), "schema": "nope_db"}
        )
    ok, reason = check_connection(bad)
    assert not ok
    assert "unable to open database file" in reason or 'database "nope_db" does not exist' in reason
