"""Secrets backends between the environment and the database: the bundled SSM Parameter
Store backend against a real SSM API (moto in server mode) with Airflow's conventions,
a user's backend from the plugins folder, and bad settings named."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from engine import BaseHook, Connection, Variable
from engine.errors import ConfigError, NotFoundError
from engine.execution import secrets
from engine.execution.secrets_backend import load_backend
from engine.execution.ssm_backend import SystemsManagerParameterStoreBackend
from engine.models.crypto import Crypter
from engine.services import connections
from tests.support.aws import Put
from tests.support.cli import ok

SSM = "engine.execution.ssm_backend.SystemsManagerParameterStoreBackend"
AIRFLOW_SSM = (
    "airflow.providers.amazon.aws.secrets.systems_manager.SystemsManagerParameterStoreBackend"
)


@pytest.fixture
def aws_env(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in aws.items():
        monkeypatch.setenv(name, value)
    return aws


def use(sessions: sessionmaker[Session], backend: object) -> Crypter:
    crypter = Crypter([Fernet.generate_key().decode()])
    secrets.configure(secrets.SecretsStore(sessions, crypter, backend))  # type: ignore[arg-type]
    return crypter


def test_lookup_order_environment_backend_database(
    aws_env: dict[str, str],
    put: Put,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crypter = use(sessions, load_backend(AIRFLOW_SSM, {}))
    with sessions.begin() as session:
        for host in ("db-only", "db-shadowed"):
            conn = Connection(host, conn_type="postgres", host=host)
            connections.save_connection(session=session, crypter=crypter, conn=conn)
    Variable.set("region", "from-db")
    put("/airflow/connections/db-shadowed", "postgres://u:pw@ssm-host:5432/app")
    put(
        "/airflow/connections/json_one",
        json.dumps({"conn_type": "http", "host": "api"}),
        "SecureString",
    )
    put("/airflow/variables/region", "from-ssm")

    assert BaseHook.get_connection("db-only").host == "db-only"
    shadowed = BaseHook.get_connection("db-shadowed")
    assert (shadowed.host, shadowed.password, shadowed.schema) == ("ssm-host", "pw", "app")
    assert BaseHook.get_connection("json_one").conn_type == "http"
    assert Variable.get("region") == "from-ssm"
    monkeypatch.setenv("LOOM_VAR_REGION", "from-env")
    assert Variable.get("region") == "from-env"
    with pytest.raises(NotFoundError, match="`nowhere` isn't defined"):
        BaseHook.get_connection("nowhere")


def test_prefixes_patterns_and_turning_lookups_off(aws_env: dict[str, str], put: Put) -> None:
    put("/loom/conns/warehouse", "sqlite://")
    put("/loom/conns/other", "sqlite://")
    put("/airflow/variables/v", "x")
    backend = SystemsManagerParameterStoreBackend(
        connections_prefix="loom/conns/",  # a leading "/" is added, a trailing one dropped
        connections_lookup_pattern="^ware",
        variables_prefix=None,
    )
    assert backend.get_conn_value("warehouse") == "sqlite://"
    assert backend.get_conn_value("other") is None  # does not match the pattern
    assert backend.get_variable("v") is None  # variables are not looked up
    assert SystemsManagerParameterStoreBackend().get_variable("v") == "x"
    assert SystemsManagerParameterStoreBackend().get_variable("missing") is None


def test_an_unreachable_backend_is_logged_and_the_database_answers(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    closed = SystemsManagerParameterStoreBackend(
        region_name="eu-west-1", endpoint_url="http://127.0.0.1:1"
    )
    use(sessions, closed)
    Variable.set("k", "db")
    with caplog.at_level(logging.ERROR, logger="engine.execution.secrets"):
        assert Variable.get("k") == "db"
    assert "variable 'k' from secrets backend" in caplog.text
    assert caplog.records[0].exc_info is not None


def test_a_users_backend_from_the_plugins_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "vault_backend.py").write_text(
        textwrap.dedent(
            """
            from engine.execution.secrets_backend import BaseSecretsBackend

            class DictBackend(BaseSecretsBackend):
                def __init__(self, answers):
                    self.answers = answers

                def get_conn_value(self, conn_id):
                    return self.answers.get(conn_id)
            """
        )
    )
    db_file = tmp_path / "from-backend.db"
    monkeypatch.setenv("LOOM__DATABASE__URL", sqlite_url)
    monkeypatch.setenv("LOOM__CORE__PLUGINS_FOLDER", str(plugins))
    monkeypatch.setenv("LOOM__SECRETS__BACKEND", "vault_backend.DictBackend")
    answers = {"answers": {"lake": json.dumps({"conn_type": "sqlite", "host": str(db_file)})}}
    monkeypatch.setenv("LOOM__SECRETS__BACKEND_KWARGS", json.dumps(answers))
    ok("db", "upgrade")
    assert "Connection success!" in ok("connections", "test", "lake")
    assert db_file.exists()  # SELECT 1 ran on the backend's connection


def test_bad_backend_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'nowhere\.Backend' cannot be imported"):
        load_backend("nowhere.Backend", {})
    with pytest.raises(ConfigError, match=r"do not fit .*connection_prefix"):
        load_backend(SSM, {"connection_prefix": "/x"})
    with pytest.raises(ConfigError, match="is not a secrets backend"):
        load_backend("pathlib.PurePath", {})
    assert load_backend("", {"ignored": 1}) is None


def test_configured_ssm_backend_serves_the_cli(
    aws_env: dict[str, str], put: Put, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_file = tmp_path / "lake.db"
    put("/loom/connections/lake", json.dumps({"conn_type": "sqlite", "host": str(db_file)}))
    monkeypatch.setenv("LOOM__SECRETS__BACKEND", AIRFLOW_SSM)
    kwargs = {"connections_prefix": "/loom/connections", "variables_prefix": None}
    monkeypatch.setenv("LOOM__SECRETS__BACKEND_KWARGS", json.dumps(kwargs))
    assert "Connection success!" in ok("connections", "test", "lake")
    assert db_file.exists()
