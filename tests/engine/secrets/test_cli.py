"""``loom variables`` and ``loom connections``: round trips through the database, Airflow's
file formats, bad input as clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from tests.support.cli import loom, ok
from tests.support.database import database_sessions


@pytest.fixture
def loom_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LOOM__DATABASE__URL", db_url)
    monkeypatch.setenv("LOOM__CORE__FERNET_KEY", Fernet.generate_key().decode())
    return db_url


def test_variables_round_trip(loom_db: str, tmp_path: Path) -> None:
    ok("variables", "set", "region", "eu-west-1", "--description", "where")
    ok("variables", "set", "cfg", '{"a": [1, 2]}', "--json")
    assert ok("variables", "get", "region").strip() == "eu-west-1"
    assert json.loads(ok("variables", "get", "cfg", "--json")) == {"a": [1, 2]}
    listed = json.loads(ok("variables", "list", "-o", "json"))
    assert [(v["key"], v["is_encrypted"]) for v in listed] == [("cfg", True), ("region", True)]
    with database_sessions(loom_db) as sessions, sessions() as session:
        raw = session.execute(sa.text("SELECT val FROM variable WHERE key = 'region'")).scalar()
    assert "eu-west-1" not in str(raw)
    path = tmp_path / "vars.json"
    ok("variables", "export", str(path))
    assert json.loads(path.read_text()) == {"cfg": {"a": [1, 2]}, "region": "eu-west-1"}
    ok("variables", "delete", "region")
    ok("variables", "delete", "cfg")
    assert "no variable 'region'" in loom("variables", "get", "region").output
    assert ok("variables", "get", "region", "--default", "d").strip() == "d"
    assert "2 variables imported" in ok("variables", "import", str(path))
    assert ok("variables", "get", "region").strip() == "eu-west-1"


def test_variables_bad_input(loom_db: str, tmp_path: Path) -> None:
    result = loom("variables", "set", "k", "{not json", "--json")
    assert result.exit_code != 0
    assert "not JSON" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert "JSON object" in loom("variables", "import", str(bad)).output
    assert "no variable 'ghost'" in loom("variables", "delete", "ghost").output


def test_connections_round_trip(loom_db: str, tmp_path: Path) -> None:
    uri = "postgresql://me:p%40ss@db:5432/app?sslmode=require"
    ok("connections", "add", "pg", "--conn-uri", uri)
    fields = ("--conn-type", "http", "--conn-host", "api.example", "--conn-password", "tok")
    ok("connections", "add", "api", *fields, "--conn-port", "443", "--conn-extra", '{"h":{"x":1}}')
    got = json.loads(ok("connections", "get", "pg", "-o", "json"))
    assert (got["password"], got["extra"], got["uri"]) == ("p@ss", {"sslmode": "require"}, uri)
    listed = json.loads(ok("connections", "list", "-o", "json"))
    assert [(c["conn_id"], c["password"]) for c in listed] == [("api", "***"), ("pg", "***")]
    with database_sessions(loom_db) as sessions, sessions() as session:
        raw = session.execute(sa.text("SELECT password FROM connection WHERE conn_id='pg'"))
        assert "p@ss" not in str(raw.scalar())
    assert "exists" in loom("connections", "add", "pg", "--conn-uri", uri).output
    path = tmp_path / "conns.json"
    ok("connections", "export", str(path))
    exported = json.loads(path.read_text())
    assert exported["api"]["extra"] == {"h": {"x": 1}}
    assert exported["api"]["port"] == 443
    ok("connections", "delete", "pg")
    ok("connections", "delete", "api")
    assert "2 connections imported" in ok("connections", "import", str(path))
    assert json.loads(ok("connections", "get", "pg", "-o", "json"))["uri"] == uri
    assert "exists" in loom("connections", "import", str(path)).output
    ok("connections", "import", str(path), "--overwrite")


def test_connections_bad_input(loom_db: str) -> None:
    assert "give one of" in loom("connections", "add", "x").output
    both = loom("connections", "add", "x", "--conn-uri", "http://h", "--conn-type", "http")
    assert "give one of" in both.output
    assert "not a URI" in loom("connections", "add", "x", "--conn-uri", "nope").output
    assert "port" in loom("connections", "add", "x", "--conn-type", "h", "--conn-port", "p").output
    assert "no connection 'ghost'" in loom("connections", "get", "ghost").output


def test_dags_test_reads_the_database(
    loom_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``loom dags test`` runs tasks in this process; they reach the configured database."""
    from engine.execution import secrets

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "reader.py").write_text(
        "from datetime import datetime\n"
        "from engine import DAG, BashOperator\n"
        "with DAG('reader', schedule=None, start_date=datetime(2026, 1, 1)):\n"
        "    BashOperator(task_id='show', bash_command='echo region={{ var.value.region }} "
        "host={{ conn.wh.host }}')\n"
    )
    monkeypatch.setenv("LOOM__CORE__DAGS_FOLDER", str(dags))
    ok("variables", "set", "region", "ap-south-1")
    ok("connections", "add", "wh", "--conn-uri", "postgresql://u:p@whhost/dw")
    secrets.configure(None)  # no store left over from another test: build from settings
    try:
        result = loom("dags", "test", "reader")
    finally:
        store = secrets._store
        secrets.configure(None)
        if store is not None:
            store.session_factory.kw["bind"].dispose()  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.output
    assert "region=ap-south-1 host=whhost" in result.output
