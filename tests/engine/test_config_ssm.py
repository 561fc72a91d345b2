"""``ssm:`` values: read from a real SSM API (moto in server mode), every problem named."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from engine.cli.config_cmd import group
from engine.config import load_settings, ssm
from engine.errors import ConfigError
from tests.support.aws import REGION, Put, moto_api
from tests.support.network import free_port

REPO = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "loom.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return {"LOOM_CONFIG": str(path)}


def problems(environ: dict[str, str], cwd: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ, cwd=cwd)
    return str(caught.value).splitlines()


# --- resolving -----------------------------------------------------------------------------


def test_values_from_yaml_and_environment_are_resolved(
    tmp_path: Path, aws: dict[str, str], put: Put
) -> None:
    put("/loom/prod/database_url", "postgresql+psycopg://loom@db.internal/loom")
    put("/loom/prod/secret_key", "signing-key")
    put("/loom/prod/hook", "https://hooks.example.com/loom")
    environ = write_config(
        tmp_path,
        """
        database:
          url: ssm:/loom/prod/database_url
        webhooks:
          ops:
            url: ssm:/loom/prod/hook
        """,
    )
    environ |= {"LOOM__WEBSERVER__SECRET_KEY": "ssm:/loom/prod/secret_key", **aws}

    settings = load_settings(environ, cwd=tmp_path)

    assert settings.database.url == "postgresql+psycopg://loom@db.internal/loom"
    assert settings.webhooks["ops"].url == "https://hooks.example.com/loom"
    assert settings.webserver.secret_key == "signing-key"


def test_secure_string_is_decrypted(tmp_path: Path, aws: dict[str, str], put: Put) -> None:
    put("/loom/prod/smtp_password", "mail-pass", "SecureString")

    settings = load_settings(
        {"LOOM__SMTP__PASSWORD": "ssm:/loom/prod/smtp_password", **aws}, cwd=tmp_path
    )

    assert settings.smtp.password == "mail-pass"


def test_more_than_ten_parameters_are_read_in_batches(
    tmp_path: Path, aws: dict[str, str], put: Put
) -> None:
    for number in range(12):
        put(f"/loom/mail/{number}", f"ops{number}@example.com")
    items = "".join(f"    - ssm:/loom/mail/{number}\n" for number in range(12))
    environ = write_config(tmp_path, f"alerts:\n  email:\n{items}")
    environ |= {"LOOM__SMTP__MAIL_FROM": "ssm:/loom/mail/0", **aws}  # a name used twice

    settings = load_settings(environ, cwd=tmp_path)

    assert settings.alerts.email == [f"ops{number}@example.com" for number in range(12)]
    assert settings.smtp.mail_from == "ops0@example.com"


# --- problems, named -----------------------------------------------------------------------


def test_missing_parameter_names_key_path_and_origin(
    tmp_path: Path, aws: dict[str, str], put: Put
) -> None:
    put("/loom/prod/secret_key", "signing-key")
    environ = write_config(tmp_path, "smtp:\n  password: ssm:/loom/prod/smtp_password\n")
    environ |= {
        "LOOM__DATABASE__URL": "ssm:/loom/prod/database_url",
        "LOOM__WEBSERVER__SECRET_KEY": "ssm:/loom/prod/secret_key",
        "LOOM__WEBSERVER__PORT": "http",
        **aws,
    }

    found = problems(environ, tmp_path)

    # The unresolved values draw no second complaint (database.url "must be a URL").
    assert sorted(found) == [
        "LOOM__WEBSERVER__PORT=http: webserver.port must be an integer (got 'http')",
        "database.url: SSM parameter /loom/prod/database_url does not exist"
        " (from LOOM__DATABASE__URL)",
        "smtp.password: SSM parameter /loom/prod/smtp_password does not exist"
        f" (from {tmp_path / 'loom.yaml'})",
    ]


def test_a_parameter_name_is_required(tmp_path: Path, aws: dict[str, str]) -> None:
    assert problems({"LOOM__WEBSERVER__SECRET_KEY": "ssm:", **aws}, tmp_path) == [
        "webserver.secret_key: ssm: needs a parameter name, such as ssm:/loom/prod/database_url"
        " (from LOOM__WEBSERVER__SECRET_KEY)"
    ]


def test_unreachable_endpoint_fails_fast(tmp_path: Path, aws: dict[str, str]) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    environ = {**aws, "AWS_ENDPOINT_URL_SSM": closed, "LOOM__WEBSERVER__SECRET_KEY": "ssm:/k"}
    started = time.monotonic()

    [line] = problems(environ, tmp_path)

    assert time.monotonic() - started < 5
    assert line == (
        "webserver.secret_key: cannot read SSM parameters: Could not connect to the endpoint"
        f' URL: "{closed}/"'
    )


def test_silent_endpoint_times_out(
    tmp_path: Path, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ssm, "READ_TIMEOUT", 0.5)
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        environ = {**aws, "AWS_ENDPOINT_URL": url, "LOOM__WEBSERVER__SECRET_KEY": "ssm:/k"}
        del environ["AWS_ENDPOINT_URL_SSM"]  # the general endpoint variable serves too
        started = time.monotonic()

        [line] = problems(environ, tmp_path)

    assert time.monotonic() - started < 5
    assert line.startswith("webserver.secret_key: cannot read SSM parameters: Read timeout")


def test_no_credentials_is_named(tmp_path: Path, aws: dict[str, str]) -> None:
    environ = {"AWS_REGION": REGION, "AWS_ENDPOINT_URL_SSM": aws["AWS_ENDPOINT_URL_SSM"]}
    environ |= {"LOOM__WEBSERVER__SECRET_KEY": "ssm:/a", "LOOM__SMTP__PASSWORD": "ssm:/b"}

    [line] = problems(environ, tmp_path)

    assert line.startswith(
        "smtp.password, webserver.secret_key: no AWS credentials to read SSM parameters"
    )
    assert "AWS_ACCESS_KEY_ID" in line


def test_no_region_is_named(tmp_path: Path, aws: dict[str, str]) -> None:
    environ = {**aws, "LOOM__WEBSERVER__SECRET_KEY": "ssm:/a"}
    del environ["AWS_REGION"]

    assert problems(environ, tmp_path) == [
        "webserver.secret_key: ssm: values need an AWS region: set AWS_REGION"
    ]


@pytest.fixture
def reader_keys(moto_url: str, aws: dict[str, str]) -> Iterator[dict[str, str]]:
    """Keys of an IAM user who may not read parameters; moto checks IAM while this lasts."""
    iam = boto3.client("iam", region_name=REGION, endpoint_url=moto_url, **_keys(aws))
    iam.create_user(UserName="reader")
    policy = {"Effect": "Allow", "Action": "ssm:DescribeParameters", "Resource": "*"}
    iam.put_user_policy(
        UserName="reader",
        PolicyName="describe-only",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [policy]}),
    )
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    moto_api(moto_url, "reset-auth", b"0")
    try:
        yield {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }
    finally:
        moto_api(moto_url, "reset-auth", b"inf")


def _keys(aws: dict[str, str]) -> dict[str, Any]:
    return {
        "aws_access_key_id": aws["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": aws["AWS_SECRET_ACCESS_KEY"],
    }


def test_access_denied_is_named(
    tmp_path: Path, aws: dict[str, str], put: Put, reader_keys: dict[str, str]
) -> None:
    environ = {**aws, **reader_keys, "LOOM__WEBSERVER__SECRET_KEY": "ssm:/loom/prod/secret_key"}

    [line] = problems(environ, tmp_path)

    assert line.startswith(
        "webserver.secret_key: cannot read SSM parameter /loom/prod/secret_key: "
    )
    assert "not authorized to perform: ssm:GetParameters" in line
    assert line.endswith("(from LOOM__WEBSERVER__SECRET_KEY)")


def test_without_boto3_the_extra_is_named(
    tmp_path: Path, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 now raises ImportError

    assert problems({**aws, "LOOM__WEBSERVER__SECRET_KEY": "ssm:/k"}, tmp_path) == [
        "webserver.secret_key: ssm: values need the ssm extra: pip install 'loom-engine[ssm]'"
    ]


def test_boto3_is_imported_only_for_ssm_values(
    tmp_path: Path, aws: dict[str, str], put: Put
) -> None:
    put("/k", "v")
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from engine.config import load_settings

        cwd, aws = Path(sys.argv[1]), json.loads(sys.argv[2])
        load_settings({**aws, "LOOM__WEBSERVER__SECRET_KEY": "plain"}, cwd=cwd)
        print(sorted(m for m in ("boto3", "botocore") if m in sys.modules))
        settings = load_settings({**aws, "LOOM__WEBSERVER__SECRET_KEY": "ssm:/k"}, cwd=cwd)
        print(settings.webserver.secret_key, "boto3" in sys.modules)
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), json.dumps(aws)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.splitlines() == ["[]", "v True"]


# --- masking -------------------------------------------------------------------------------


def test_resolved_secrets_are_masked(tmp_path: Path, aws: dict[str, str], put: Put) -> None:
    put("/loom/prod/secret_key", "signing-key")  # a String, masked by its key's name
    put("/loom/prod/smtp_user", "mailer-account", "SecureString")  # masked as a SecureString
    put("/loom/prod/oncall", "oncall@example.com", "SecureString")
    environ = write_config(
        tmp_path, "alerts:\n  email:\n    - ssm:/loom/prod/oncall\n    - ops@example.com\n"
    )
    environ |= {
        "LOOM__WEBSERVER__SECRET_KEY": "ssm:/loom/prod/secret_key",
        "LOOM__SMTP__USER": "ssm:/loom/prod/smtp_user",
        **aws,
    }

    settings = load_settings(environ, cwd=tmp_path)
    data = settings.masked()

    assert settings.smtp.user == "mailer-account"
    assert data["webserver"]["secret_key"] == "***"
    assert data["smtp"]["user"] == "***"
    assert data["alerts"]["email"] == ["***", "ops@example.com"]
    assert data["smtp"]["host"] == ""  # everything else as before


def test_config_show_masks_resolved_secrets(
    tmp_path: Path, aws: dict[str, str], put: Put, monkeypatch: pytest.MonkeyPatch
) -> None:
    put("/loom/prod/secret_key", "signing-key")
    put("/loom/prod/smtp_user", "mailer-account", "SecureString")
    monkeypatch.chdir(tmp_path)
    environ = {
        "LOOM__WEBSERVER__SECRET_KEY": "ssm:/loom/prod/secret_key",
        "LOOM__SMTP__USER": "ssm:/loom/prod/smtp_user",
        **aws,
    }

    result = CliRunner().invoke(group, ["show"], env=environ)

    assert result.exit_code == 0, result.output
    assert "webserver.secret_key = ***" in result.output.splitlines()
    assert "smtp.user = ***" in result.output.splitlines()
    assert "signing-key" not in result.output
    assert "mailer-account" not in result.output


def test_error_messages_mask_secure_string_values(
    tmp_path: Path, aws: dict[str, str], put: Put
) -> None:
    put("/loom/prod/port", "not-a-port-secret", "SecureString")

    found = problems({"LOOM__WEBSERVER__PORT": "ssm:/loom/prod/port", **aws}, tmp_path)

    assert found == [
        "LOOM__WEBSERVER__PORT=ssm:/loom/prod/port: webserver.port must be an integer (got '***')"
    ]
