"""What tasks see: Variable, BaseHook and the ``var`` / ``conn`` template namespaces, from
the environment first and then the database (SQLite and PostgreSQL); URI and JSON forms;
secrets a task read are masked in its log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from engine import DAG, BaseHook, BashOperator, Connection, Variable, task
from engine.errors import InvalidInputError, NotFoundError
from engine.execution import secrets
from engine.execution.dagtest import DagTestRun
from engine.models.crypto import Crypter
from engine.services import connections
from workers.logcapture import TailBuffer

KEY = Fernet.generate_key().decode()


@pytest.fixture
def store(sessions: sessionmaker[Session]) -> Iterator[Crypter]:
    crypter = Crypter([KEY])
    secrets.configure(secrets.SecretsStore(sessions, crypter))
    try:
        yield crypter
    finally:
        secrets.configure(None)


def test_uri_form_is_percent_decoded_and_round_trips() -> None:
    conn = Connection("db", uri="postgresql://us%40er:p%2Fw%3A@db.example:5432/my%20db?a=1")
    assert (conn.conn_type, conn.login, conn.password) == ("postgresql", "us@er", "p/w:")
    assert (conn.host, conn.port, conn.schema, conn.extra_dejson) == (
        "db.example",
        5432,
        "my db",
        {"a": "1"},
    )
    again = Connection("db", uri=conn.get_uri())
    assert vars(again) == vars(conn)


def test_nested_extra_travels_as_extra_param() -> None:
    conn = Connection("h", conn_type="http", host="api", extra={"headers": {"X": "1"}})
    assert "__extra__=" in conn.get_uri()
    assert Connection("h", uri=conn.get_uri()).extra_dejson == {"headers": {"X": "1"}}


def test_json_form_and_bad_input() -> None:
    text = json.dumps({"conn_type": "http", "host": "h", "port": "80", "extra": {"k": "v"}})
    conn = Connection.from_text("j", text)
    assert (conn.port, conn.extra_dejson) == (80, {"k": "v"})
    with pytest.raises(InvalidInputError, match="unknown fields"):
        Connection.from_json("j", {"conn_type": "http", "hots": "h"})
    with pytest.raises(InvalidInputError, match="not a URI"):
        Connection("x", uri="just words")
    with pytest.raises(InvalidInputError, match="port"):
        Connection("x", conn_type="http", port="eighty")  # type: ignore[arg-type]


def test_environment_comes_first(store: Crypter, monkeypatch: pytest.MonkeyPatch) -> None:
    Variable.set("region", "db-value")
    assert Variable.get("region") == "db-value"
    monkeypatch.setenv("AIRFLOW_VAR_REGION", "airflow-env")
    assert Variable.get("region") == "airflow-env"
    monkeypatch.setenv("LOOM_VAR_REGION", "loom-env")
    assert Variable.get("region") == "loom-env"
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "postgresql://u:p@wh:5432/dw")
    assert BaseHook.get_connection("warehouse").host == "wh"
    monkeypatch.setenv("LOOM_CONN_WAREHOUSE", '{"conn_type": "sqlite", "host": "/tmp/x.db"}')
    assert BaseHook.get_connection("warehouse").conn_type == "sqlite"


def test_variables_in_the_database(store: Crypter) -> None:
    Variable.set("cfg", {"a": {"b": [1, 2]}}, serialize_json=True)
    assert Variable.get("cfg", deserialize_json=True) == {"a": {"b": [1, 2]}}
    assert Variable.get("missing", default="d") == "d"
    assert Variable.get("missing", default_var=None) is None
    with pytest.raises(KeyError, match="missing"):
        Variable.get("missing")
    Variable.delete("cfg")
    assert Variable.get("cfg", None) is None


def test_connections_in_the_database(store: Crypter, sessions: sessionmaker[Session]) -> None:
    conn = Connection("db", conn_type="postgres", host="h", login="u", password="hunter22")
    with sessions.begin() as session:
        connections.save_connection(session=session, crypter=store, conn=conn)
    got = BaseHook.get_connection("db")
    assert (got.host, got.login, got.password) == ("h", "u", "hunter22")
    assert got.get_uri() == "postgres://u:hunter22@h"
    with pytest.raises(NotFoundError, match="isn't defined"):
        BaseHook.get_connection("nope")


def test_templates_and_tasks_read_them(
    store: Crypter, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    Variable.set("cfg", json.dumps({"bucket": {"name": "b1"}}))
    Variable.set("env", "prod")
    monkeypatch.setenv("LOOM_CONN_MY_DB", "postgresql://u:pw@dbhost:5432/app")
    seen: dict[str, Any] = {}
    with DAG("secrets_demo", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        BashOperator(
            task_id="echo",
            bash_command="echo {{ var.value.env }} {{ var.json.cfg.bucket.name }} "
            "{{ conn.my_db.host }} {{ var.value.get('nope', 'fallback') }}",
        )

        @task
        def read() -> None:
            seen["conn"] = BaseHook.get_connection("my_db").schema
            seen["var"] = Variable.get("env")

        read()
    lines: list[str] = []
    report = DagTestRun(dag, echo=lines.append).run()
    assert report.succeeded, lines
    assert "prod b1 dbhost fallback" in capfd.readouterr().out
    assert seen == {"conn": "app", "var": "prod"}


def test_a_task_log_masks_what_the_task_read(
    store: Crypter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOM_CONN_API", '{"conn_type": "http", "password": "pa55word!"}')
    monkeypatch.setenv("LOOM_VAR_SERVICE_TOKEN", "tok-123456")
    monkeypatch.setenv("LOOM_VAR_COLOUR", "blue-green")
    BaseHook.get_connection("api")
    Variable.get("service_token")
    Variable.get("colour")
    buffer = TailBuffer(10_000, clock=lambda: datetime(2026, 12, 5, tzinfo=UTC))
    buffer.write("password pa55word! token tok-123456 colour blue-green\n")
    buffer.write_record("2026-12-05 00:00:01,000 INFO task: logged pa55word!\n")
    assert buffer.getvalue() == (
        "2026-12-05 00:00:00,000 password *** token *** colour blue-green\n"
        "2026-12-05 00:00:01,000 INFO task: logged ***\n"
    )
