"""Variables and connections in the database: encrypted at rest (read back from the raw
columns), plain text without a key, key rotation, the standalone key file."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from engine.authoring.connection import Connection
from engine.cli.main import cli
from engine.config import load_settings
from engine.errors import ConfigError, ConflictError
from engine.models import migrate
from engine.models.crypto import KEY_FILE, Crypter, crypter_for, ensure_key_file
from engine.services import connections, variables
from engine.services.fernet_rotation import rotate_fernet_key
from tests.support.database import database_sessions

KEY = Fernet.generate_key().decode()


def raw(sessions: sessionmaker[Session], sql: str) -> tuple[object, ...]:
    with sessions() as session:
        row = session.execute(sa.text(sql)).one()
        return tuple(row)


def test_a_variable_is_encrypted_at_rest(sessions: sessionmaker[Session]) -> None:
    crypter = Crypter([KEY])
    with sessions.begin() as session:
        variables.set_variable(session=session, crypter=crypter, key="api", value="s3cr3t")
    val, encrypted = raw(sessions, "SELECT val, is_encrypted FROM variable WHERE key = 'api'")
    assert encrypted
    assert isinstance(val, str)
    assert "s3cr3t" not in val
    assert Fernet(KEY.encode()).decrypt(val.encode()) == b"s3cr3t"
    with sessions() as session:
        row = variables.require_variable(session=session, key="api")
        assert variables.variable_value(crypter, row) == "s3cr3t"


def test_a_connection_password_and_extra_are_encrypted(sessions: sessionmaker[Session]) -> None:
    crypter = Crypter([KEY])
    conn = Connection("db", uri="postgresql://me:p%40ss@h:5432/app?sslmode=require")
    with sessions.begin() as session:
        connections.save_connection(session=session, crypter=crypter, conn=conn)
    password, extra, login, a, b = raw(
        sessions,
        "SELECT password, extra, login, is_encrypted, is_extra_encrypted FROM connection",
    )
    assert a
    assert b
    assert login == "me"
    assert "p@ss" not in str(password)
    assert "sslmode" not in str(extra)
    with sessions() as session:
        back = connections.as_connection(
            crypter, connections.require_connection(session=session, conn_id="db")
        )
    assert (back.password, back.extra_dejson, back.port) == ("p@ss", {"sslmode": "require"}, 5432)
    with sessions.begin() as session, pytest.raises(ConflictError):
        connections.save_connection(session=session, crypter=crypter, conn=conn)


def test_without_a_key_values_are_plain_with_a_warning(
    sessions: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("engine.models.crypto._warned", False)
    with caplog.at_level(logging.WARNING), sessions.begin() as session:
        variables.set_variable(session=session, crypter=Crypter([]), key="k", value="v")
    assert raw(sessions, "SELECT val, is_encrypted FROM variable") in {("v", False), ("v", 0)}
    assert "stored unencrypted" in caplog.text
    with sessions() as session:  # an encrypted row cannot be read without the key
        row = variables.require_variable(session=session, key="k")
        row.is_encrypted = True
        with pytest.raises(ConfigError, match=r"no core\.fernet_key"):
            variables.variable_value(Crypter([]), row)


def test_rotation_reencrypts_with_the_new_key(sessions: sessionmaker[Session]) -> None:
    old, new = KEY, Fernet.generate_key().decode()
    with sessions.begin() as session:
        variables.set_variable(session=session, crypter=Crypter([old]), key="a", value="1")
        variables.set_variable(session=session, crypter=Crypter([]), key="plain", value="2")
        conn = Connection("c", conn_type="http", host="h", password="pw", extra={"x": "y"})
        connections.save_connection(session=session, crypter=Crypter([old]), conn=conn)
    with sessions.begin() as session:
        assert rotate_fernet_key(session=session, crypter=Crypter([new, old])) == 3
    only_new = Crypter([new])
    with sessions() as session:
        for key, value in (("a", "1"), ("plain", "2")):
            row = variables.require_variable(session=session, key=key)
            assert variables.variable_value(only_new, row) == value
        row_c = connections.require_connection(session=session, conn_id="c")
        assert connections.as_connection(only_new, row_c).password == "pw"
        with pytest.raises(ConfigError, match="not among the configured keys"):
            connections.as_connection(Crypter([old]), row_c)


def test_a_bad_key_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"core\.fernet_key"):
        Crypter(["not-a-key"])


def test_rotate_command(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    migrate.upgrade(sqlite_url)
    with database_sessions(sqlite_url) as sessions, sessions.begin() as session:
        variables.set_variable(session=session, crypter=Crypter([KEY]), key="a", value="1")
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("LOOM__DATABASE__URL", sqlite_url)
    monkeypatch.setenv("LOOM__CORE__FERNET_KEY", f"{new},{KEY}")
    result = CliRunner().invoke(cli, ["rotate-fernet-key"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 1" in result.output
    with database_sessions(sqlite_url) as sessions, sessions() as session:
        row = variables.require_variable(session=session, key="a")
        assert variables.variable_value(Crypter([new]), row) == "1"
    monkeypatch.setenv("LOOM__CORE__FERNET_KEY", "")
    result = CliRunner().invoke(cli, ["rotate-fernet-key"])
    assert result.exit_code != 0
    assert "needs core.fernet_key" in result.output


def test_standalone_key_file_is_private_and_used(tmp_path: Path) -> None:
    from engine.runtime.standalone import build_standalone

    settings = load_settings()
    build_standalone(settings)
    path = Path(settings.home) / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypter_for(settings).enabled
    key = path.read_text()
    assert ensure_key_file(Path(settings.home)).read_text() == key  # kept, not replaced


def test_fernet_key_is_masked_in_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM__CORE__FERNET_KEY", KEY)
    assert load_settings().masked()["core"]["fernet_key"] == "***"
