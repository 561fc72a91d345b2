"""load_settings: defaults, loom.yaml, LOOM__ overrides, every problem named, secrets masked."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pydantic
import pytest
from click.testing import CliRunner

from engine.cli.config_cmd import group
from engine.config import Settings, WebhookSettings, load_settings
from engine.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def problems(environ: dict[str, str], cwd: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ, cwd=cwd)
    return str(caught.value).splitlines()


# --- defaults ------------------------------------------------------------------------------


def test_defaults_are_the_embedded_setup(tmp_path: Path) -> None:
    settings = load_settings({"LOOM_HOME": "state"}, cwd=tmp_path)

    assert settings.home == tmp_path / "state"
    assert settings.config_file is None
    assert settings.database.url == f"sqlite:///{tmp_path}/state/loom.db"
    assert settings.core.dags_folder == tmp_path / "dags"
    assert settings.executor.kind == "local"
    assert settings.scheduler.tick_interval == timedelta(seconds=1)
    assert settings.webserver.refresh_token_ttl == timedelta(days=7)
    assert settings.dlq.amqp_url == ""
    assert settings.webhooks == {}
    assert settings.core.parse_parallelism >= 1


def test_the_public_url_follows_the_address_unless_set(tmp_path: Path) -> None:
    """Alert links point where the UI listens: another port moves them too."""
    from engine.runtime.standalone import with_web_address

    assert load_settings({}, cwd=tmp_path).webserver.base_url == "http://127.0.0.1:8080"
    moved = load_settings({"LOOM__WEBSERVER__PORT": "8081"}, cwd=tmp_path)
    assert moved.webserver.base_url == "http://127.0.0.1:8081"
    everywhere = {"LOOM__WEBSERVER__HOST": "0.0.0.0", "LOOM__WEBSERVER__PORT": "9000"}
    assert load_settings(everywhere, cwd=tmp_path).webserver.base_url == "http://127.0.0.1:9000"
    flagged = with_web_address(load_settings({}, cwd=tmp_path), host=None, port=8082)
    assert flagged.webserver.base_url == "http://127.0.0.1:8082"
    public = {"LOOM__WEBSERVER__BASE_URL": "https://loom.example.com", **everywhere}
    kept = with_web_address(load_settings(public, cwd=tmp_path), host=None, port=8082)
    assert kept.webserver.base_url == "https://loom.example.com"


def test_loom_home_defaults_to_dot_loom_in_the_working_directory(tmp_path: Path) -> None:
    settings = load_settings({}, cwd=tmp_path)

    assert settings.home == tmp_path / ".loom"
    assert settings.database.url == f"sqlite:///{tmp_path}/.loom/loom.db"


def test_environ_defaults_to_os_environ_read_at_call_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOOM__WEBSERVER__PORT", "9090")

    assert load_settings(cwd=tmp_path).webserver.port == 9090


def test_relative_dags_folder_resolves_against_the_working_directory(
    tmp_path: Path, home: Path
) -> None:
    write(home / "loom.yaml", "core:\n  dags_folder: ../pipelines\n")
    cwd = tmp_path / "project"
    cwd.mkdir()

    settings = load_settings({"LOOM_HOME": str(home)}, cwd=cwd)

    assert settings.core.dags_folder == tmp_path / "pipelines"


# --- loom.yaml -----------------------------------------------------------------------------


def test_reads_loom_yaml_in_loom_home(tmp_path: Path, home: Path) -> None:
    path = write(home / "loom.yaml", "executor:\n  kind: rq\nscheduler:\n  tick_interval: 2.5\n")

    settings = load_settings({"LOOM_HOME": str(home)}, cwd=tmp_path)

    assert settings.config_file == path
    assert settings.executor.kind == "rq"
    assert settings.scheduler.tick_interval == timedelta(seconds=2.5)


def test_loom_config_names_the_file_and_wins_over_loom_home(tmp_path: Path, home: Path) -> None:
    write(home / "loom.yaml", "webserver:\n  port: 1111\n")
    named = write(tmp_path / "prod.yaml", "webserver:\n  port: 2222\n  secret_key: s3cret\n")

    settings = load_settings({"LOOM_HOME": str(home), "LOOM_CONFIG": "prod.yaml"}, cwd=tmp_path)

    assert settings.config_file == named
    assert settings.webserver.port == 2222
    assert settings.webserver.secret_key == "s3cret"


def test_loom_config_naming_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"LOOM_CONFIG=nope\.yaml: no such file"):
        load_settings({"LOOM_CONFIG": "nope.yaml"}, cwd=tmp_path)


def test_empty_file_and_empty_sections_mean_defaults(tmp_path: Path, home: Path) -> None:
    write(home / "loom.yaml", "# nothing yet\nsmtp:\n")

    settings = load_settings({"LOOM_HOME": str(home)}, cwd=tmp_path)

    assert settings.smtp.host == ""
    assert settings.config_file == home / "loom.yaml"


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path, home: Path) -> None:
    path = write(home / "loom.yaml", "core:\n  dags_folder: x\n  bad: [unclosed\n")

    with pytest.raises(ConfigError) as caught:
        load_settings({"LOOM_HOME": str(home)}, cwd=tmp_path)

    assert str(caught.value).startswith(f"{path}, line ")
    assert "invalid YAML" in str(caught.value)


def test_top_level_must_be_a_mapping(tmp_path: Path, home: Path) -> None:
    path = write(home / "loom.yaml", "- core\n- database\n")

    with pytest.raises(ConfigError, match="top level must be a mapping") as caught:
        load_settings({"LOOM_HOME": str(home)}, cwd=tmp_path)
    assert str(path) in str(caught.value)


# --- environment overrides -----------------------------------------------------------------


def test_environment_beats_the_file(tmp_path: Path, home: Path) -> None:
    write(home / "loom.yaml", "database:\n  url: sqlite:///from-file.db\n  pool_size: 3\n")
    environ = {
        "LOOM_HOME": str(home),
        "LOOM__DATABASE__URL": "postgresql+psycopg://loom@db/loom",
        "loom_ignored": "x",
    }

    settings = load_settings(environ, cwd=tmp_path)

    assert settings.database.url == "postgresql+psycopg://loom@db/loom"
    assert settings.database.pool_size == 3  # keys the environment leaves alone stay


def test_section_and_key_are_case_insensitive(tmp_path: Path) -> None:
    settings = load_settings({"LOOM__Scheduler__Tick_Interval": "1m"}, cwd=tmp_path)

    assert settings.scheduler.tick_interval == timedelta(minutes=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("false", False), ("1", True), ("0", False), ("yes", True), ("no", False)],
)
def test_boolean_environment_values(tmp_path: Path, text: str, expected: bool) -> None:
    assert load_settings({"LOOM__SMTP__STARTTLS": text}, cwd=tmp_path).smtp.starttls is expected


def test_environment_adds_a_webhook(tmp_path: Path) -> None:
    environ = {
        "LOOM__WEBHOOKS__OPS__URL": "https://hooks.example.com/x",
        "LOOM__WEBHOOKS__OPS__EVENTS": "dag_run.failed, task.failed",
        "LOOM__WEBHOOKS__OPS__TIMEOUT": "PT30S",
    }

    settings = load_settings(environ, cwd=tmp_path)

    assert settings.webhooks == {
        "ops": WebhookSettings(
            url="https://hooks.example.com/x",
            events=["dag_run.failed", "task.failed"],
            timeout=timedelta(seconds=30),
        )
    }


def test_environment_overrides_a_webhook_of_the_file_in_any_case(
    tmp_path: Path, home: Path
) -> None:
    write(home / "loom.yaml", "webhooks:\n  Ops:\n    url: http://a/\n    max_attempts: 3\n")
    environ = {"LOOM_HOME": str(home), "LOOM__WEBHOOKS__OPS__URL": "https://b/"}

    settings = load_settings(environ, cwd=tmp_path)

    assert list(settings.webhooks) == ["Ops"]
    assert settings.webhooks["Ops"].url == "https://b/"
    assert settings.webhooks["Ops"].max_attempts == 3


# --- problems, named -----------------------------------------------------------------------


def test_unknown_key_in_file_is_named(tmp_path: Path, home: Path) -> None:
    path = write(home / "loom.yaml", "core:\n  dag_folder: x\n")

    assert problems({"LOOM_HOME": str(home)}, tmp_path) == [
        f"{path}: core.dag_folder is not a known key (did you mean dags_folder?)"
    ]


def test_unknown_section_and_reserved_names_in_file(tmp_path: Path, home: Path) -> None:
    write(home / "loom.yaml", "home: /elsewhere\nschedular:\n  tick_interval: 1\n")

    found = problems({"LOOM_HOME": str(home)}, tmp_path)

    assert any("home is not a known section" in line for line in found)
    assert any("schedular is not a known section (did you mean scheduler?)" in p for p in found)


def test_unknown_environment_key_names_the_variable(tmp_path: Path) -> None:
    assert problems({"LOOM__CORE__DAG_FOLDER": "x"}, tmp_path) == [
        "LOOM__CORE__DAG_FOLDER=x: core.dag_folder is not a known key (did you mean dags_folder?)"
    ]


def test_airflows_xcom_pickling_key_is_refused_saying_why(tmp_path: Path) -> None:
    assert problems({"LOOM__CORE__ENABLE_XCOM_PICKLING": "true"}, tmp_path) == [
        "LOOM__CORE__ENABLE_XCOM_PICKLING=true: core.enable_xcom_pickling is not a known key: "
        "Airflow 3 removed XCom pickling, and Loom never pickles XComs (they are stored as "
        "JSON; datetimes, tuples, sets and dataclasses keep their type)"
    ]


@pytest.mark.parametrize("name", ["LOOM__FOO", "LOOM__WEBHOOKS__OPS", "LOOM__CORE__A__B"])
def test_malformed_environment_variable_is_named(tmp_path: Path, name: str) -> None:
    [line] = problems({name: "1"}, tmp_path)
    assert line.startswith(f"{name}=1: not a setting; use LOOM__<SECTION>__<KEY>")


def test_bad_duration_message_names_variable_key_and_form(tmp_path: Path) -> None:
    assert problems({"LOOM__SCHEDULER__TICK_INTERVAL": "abc"}, tmp_path) == [
        "LOOM__SCHEDULER__TICK_INTERVAL=abc: scheduler.tick_interval must be a duration"
        " such as 5, 2.5s, 1m (got 'abc')"
    ]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("WEBSERVER__PORT", "70000", "webserver.port must be an integer from 1 to 65535"),
        ("WEBSERVER__PORT", "http", "webserver.port must be an integer (got 'http')"),
        ("EXECUTOR__KIND", "celery", "executor.kind must be 'local' or 'rq' (got 'celery')"),
        ("CORE__PARSE_TIMEOUT", "0", "core.parse_timeout must be a duration longer than zero"),
        ("CORE__PARSE_PARALLELISM", "0", "core.parse_parallelism must be an integer of at least 1"),
        (
            "DATABASE__URL",
            "mysql://root@db/loom",
            "database.url must be a database URL starting with sqlite:/// or postgresql+psycopg://",
        ),
        ("DATABASE__URL", "sqlite://loom.db", "database.url must be a database URL"),
        ("REDIS__URL", "localhost:6379", "redis.url must be a URL starting with redis://"),
        ("DLQ__AMQP_URL", "guest@rabbit", "dlq.amqp_url must be empty or a URL starting with amqp"),
        ("WEBSERVER__BASE_URL", "loom.example.com", "webserver.base_url must be a URL starting"),
        (
            "CORE__DEFAULT_TIMEZONE",
            "Mars/Olympus",
            "core.default_timezone must be a time zone name such as UTC or Europe/Berlin",
        ),
        ("CORE__DEFAULT_TIMEZONE", "Europe", "core.default_timezone must be a time zone name"),
        ("SMTP__SSL", "maybe", "smtp.ssl must be true or false (got 'maybe')"),
        ("LOGGING__FORMAT", "xml", "logging.format must be 'text' or 'json'"),
        ("WEBHOOKS__OPS__URL", "ftp://x", "webhooks.ops.url must be a URL starting with http://"),
    ],
)
def test_bad_environment_values_name_key_and_form(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    [line] = problems({f"LOOM__{variable}": value}, tmp_path)
    assert line.startswith(f"LOOM__{variable}={value}: {expected}")


def test_bad_file_values_name_file_key_and_form(tmp_path: Path, home: Path) -> None:
    path = write(
        home / "loom.yaml",
        "webserver:\n  port: 70000\n  workers: true\nexecutor:\n  kind: celery\n"
        "database:\n  url: mysql://db/loom\ncore:\n  default_timezone: Nowhere/Land\n"
        "webhooks:\n  ops:\n    secret: x\n",
    )

    found = problems({"LOOM_HOME": str(home)}, tmp_path)

    assert sorted(found) == sorted(
        [
            f"{path}: core.default_timezone must be a time zone name such as UTC or"
            " Europe/Berlin (got 'Nowhere/Land')",
            f"{path}: database.url must be a database URL starting with sqlite:/// or"
            " postgresql+psycopg:// (got 'mysql://db/loom')",
            f"{path}: executor.kind must be 'local' or 'rq' (got 'celery')",
            f"{path}: webserver.port must be an integer from 1 to 65535 (got 70000)",
            f"{path}: webserver.workers must be an integer (got True)",
            f"{path}: webhooks.ops.url is required",
        ]
    )


def test_problems_from_file_and_environment_are_reported_together(
    tmp_path: Path, home: Path
) -> None:
    path = write(home / "loom.yaml", "webserver:\n  port: 0\n")
    environ = {
        "LOOM_HOME": str(home),
        "LOOM__SCHEDULER__TICK_INTERVAL": "soon",
        "LOOM__NOPE__X": "1",
        "LOOM__EXECUTOR__KIND": "celery",
    }

    found = problems(environ, tmp_path)

    assert len(found) == 4
    assert any(line.startswith("LOOM__NOPE__X=1: nope is not a known section") for line in found)
    assert any(line.startswith("LOOM__SCHEDULER__TICK_INTERVAL=soon: ") for line in found)
    assert any(line.startswith("LOOM__EXECUTOR__KIND=celery: ") for line in found)
    assert f"{path}: webserver.port must be an integer from 1 to 65535 (got 0)" in found


# --- values --------------------------------------------------------------------------------


def test_durations_accept_numbers_and_text(tmp_path: Path, home: Path) -> None:
    write(
        home / "loom.yaml",
        "scheduler:\n  zombie_threshold: 90\n  parse_interval: 1h30m\n"
        "  heartbeat_interval: PT5M\nsmtp:\n  timeout: 500ms\n",
    )

    settings = load_settings({"LOOM_HOME": str(home)}, cwd=tmp_path)

    assert settings.scheduler.zombie_threshold == timedelta(seconds=90)
    assert settings.scheduler.parse_interval == timedelta(hours=1, minutes=30)
    assert settings.scheduler.heartbeat_interval == timedelta(minutes=5)
    assert settings.smtp.timeout == timedelta(milliseconds=500)


def test_logging_level_is_case_insensitive(tmp_path: Path) -> None:
    settings = load_settings({"LOOM__LOGGING__LEVEL": "debug"}, cwd=tmp_path)

    assert settings.logging.level == "DEBUG"


def test_numeric_password_in_yaml_stays_a_string(tmp_path: Path, home: Path) -> None:
    write(home / "loom.yaml", "smtp:\n  password: 12345\n")

    assert load_settings({"LOOM_HOME": str(home)}, cwd=tmp_path).smtp.password == "12345"


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings({}, cwd=tmp_path)

    with pytest.raises(pydantic.ValidationError):
        settings.webserver.port = 1  # type: ignore[misc]


# --- masking -------------------------------------------------------------------------------


def test_masked_hides_secrets_and_url_passwords(tmp_path: Path) -> None:
    environ = {
        "LOOM__DATABASE__URL": "postgresql+psycopg://loom:pg-pass@db:5432/loom",
        "LOOM__REDIS__URL": "redis://:redis-pass@cache:6379/0",
        "LOOM__DLQ__AMQP_URL": "amqp://guest:guest@rabbit:5672/%2F",
        "LOOM__WEBSERVER__SECRET_KEY": "jwt-key",
        "LOOM__SMTP__USER": "mailer",
        "LOOM__SMTP__PASSWORD": "smtp-pass",
        "LOOM__WEBHOOKS__OPS__URL": "https://hooks.example.com/services/T0/B0/hook-token",
        "LOOM__WEBHOOKS__OPS__SECRET": "hmac-key",
        "LOOM__WEBHOOKS__TEAMS__URL": "https://bot:bot-pass@teams.example.com/x?key=q-key",
    }

    data = load_settings(environ, cwd=tmp_path).masked()

    assert data["database"]["url"] == "postgresql+psycopg://loom:***@db:5432/loom"
    assert data["redis"]["url"] == "redis://:***@cache:6379/0"
    assert data["dlq"]["amqp_url"] == "amqp://guest:***@rabbit:5672/%2F"
    assert data["webserver"]["secret_key"] == "***"
    assert data["smtp"]["password"] == "***"
    assert data["smtp"]["user"] == "mailer"
    assert data["webhooks"]["ops"] == {
        "url": "https://hooks.example.com/***",
        "secret": "***",
        "timeout": "10s",
        "max_attempts": 8,
        "events": [],
    }
    assert data["webhooks"]["teams"]["url"] == "https://***@teams.example.com/***"
    text = json.dumps(data)
    secrets = ("pg-pass", "redis-pass", "guest@", "jwt-key", "smtp-pass", "hmac-key")
    for secret in (*secrets, "hook-token", "bot", "q-key"):
        assert secret not in text


def test_masked_is_plain_json_and_leaves_empty_secrets_visible(tmp_path: Path) -> None:
    data = load_settings({}, cwd=tmp_path).masked()

    assert json.loads(json.dumps(data)) == data
    assert data["webserver"]["secret_key"] == ""
    assert data["scheduler"]["zombie_threshold"] == "1m"
    assert data["core"]["dags_folder"] == str(tmp_path / "dags")
    assert data["home"] == str(tmp_path / ".loom")


def test_error_messages_mask_secrets(tmp_path: Path) -> None:
    environ = {"LOOM__DATABASE__URL": "mysql://root:hunter2@db/loom", "LOOM__SMTP__PASSWORD": ""}
    environ["LOOM__SMTP__API_TOKEN"] = "tok-123"
    environ["LOOM__WEBHOOKS__OPS__URL"] = "ftp://hooks.example.com/hook-token"
    environ["LOOM__WEBHOOKS__URL"] = "https://hooks.example.com/other-token"

    text = "\n".join(problems(environ, tmp_path))

    for secret in ("hunter2", "tok-123", "hook-token", "other-token"):
        assert secret not in text
    assert "LOOM__WEBHOOKS__OPS__URL=ftp://hooks.example.com/***: webhooks.ops.url" in text
    assert "LOOM__DATABASE__URL=mysql://root:***@db/loom: database.url must be" in text
    assert "LOOM__SMTP__API_TOKEN=***: smtp.api_token is not a known key" in text


# --- loom config show ----------------------------------------------------------------------


def test_config_show_table(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(home / "loom.yaml", "smtp:\n  password: smtp-pass\n")
    monkeypatch.chdir(tmp_path)
    environ = {
        "LOOM_HOME": str(home),
        "LOOM__WEBHOOKS__OPS__URL": "https://h/x",
        "LOOM__REDIS__URL": "redis://loom:pa/ss@cache:6379/0",
    }

    result = CliRunner().invoke(group, ["show"], env=environ)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"# config file: {path}"
    assert lines[1:] == sorted(lines[1:])
    assert "smtp.password = ***" in lines
    assert f"core.dags_folder = {tmp_path / 'dags'}" in lines
    assert "webserver.port = 8080" in lines
    assert "database.echo = false" in lines
    assert 'dlq.amqp_url = ""' in lines
    assert "webhooks.ops.url = https://h/***" in lines
    assert "redis.url = redis://loom:***@cache:6379/0" in lines
    for secret in ("smtp-pass", "pa/ss", "h/x"):
        assert secret not in result.output


def test_config_show_table_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(group, ["show"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "# config file: (defaults, no loom.yaml)"
    assert "webhooks = {}" in result.output.splitlines()


def test_config_show_writes_durations_and_names_the_keys_standalone_generated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.models.crypto import ensure_key_file
    from webui.serve import ensure_secret_key

    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    environ = {"LOOM_HOME": str(home)}
    before = CliRunner().invoke(group, ["show"], env=environ).output.splitlines()
    assert 'webserver.secret_key = ""' in before  # nothing generated yet: unset
    assert "scheduler.parse_interval = 1.5s" in before
    assert "webserver.keepalive = 5s" in before

    ensure_secret_key(load_settings(environ, cwd=tmp_path))  # what standalone does
    ensure_key_file(home)
    lines = CliRunner().invoke(group, ["show"], env=environ).output.splitlines()
    assert (
        f"webserver.secret_key = *** (generated by standalone, kept in"
        f" {home / 'webserver_secret_key'})"
    ) in lines
    assert (
        f"core.fernet_key = *** (generated by standalone, kept in {home / 'fernet_key'})" in lines
    )
    configured = {**environ, "LOOM__WEBSERVER__SECRET_KEY": "k" * 40}
    shown = CliRunner().invoke(group, ["show"], env=configured).output.splitlines()
    assert "webserver.secret_key = ***" in shown  # a configured key wins over the file


def test_config_show_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    environ = {"LOOM__SMTP__PASSWORD": "smtp-pass", "LOOM__EXECUTOR__KIND": "rq"}

    result = CliRunner().invoke(group, ["show", "--output", "json"], env=environ)

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["smtp"]["password"] == "***"
    assert data["executor"]["kind"] == "rq"
    assert data["config_file"] is None


# --- documentation -------------------------------------------------------------------------


def test_every_key_is_documented_with_its_environment_variable() -> None:
    text = DOCS.read_text(encoding="utf-8")
    sections = {name: field.annotation for name, field in Settings.model_fields.items()}
    for section, model in sections.items():
        if section in ("home", "config_file"):
            continue
        if section == "webhooks":
            model, section = WebhookSettings, "webhooks.<name>"
        assert isinstance(model, type)
        assert issubclass(model, pydantic.BaseModel)
        for key in model.model_fields:
            variable = f"LOOM__{section.upper().replace('.', '__')}__{key.upper()}"
            assert f"`{section}.{key}`" in text
            assert f"`{variable}`" in text
