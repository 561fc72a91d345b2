"""``webserver.secret_key``: placeholders, ``change-me`` keys and guessable keys are refused
by the app factory, ``loom webserver`` and ``loom standalone``, each time saying how to
make a good key; random keys (and the key standalone generates) are accepted."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import cli
from engine.config import load_settings
from engine.errors import ConfigError
from tests.support.settings import make_settings
from webui import create_app
from webui.auth import check_secret
from webui.serve import ensure_secret_key, serve_in_thread

HOW = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"

WEAK_KEYS = {
    "shipped placeholder": (
        "change-me-to-a-long-random-string-of-48-characters",
        "is a placeholder",
    ),
    "change-me": ("Change_Me-q7Vx2LmN9pR4sT6wY8zA1bC3dE5fG0hJ", "is a placeholder"),
    "changeme": ("kT3v9XqLm2ChangeMe8wZp4RsY6bN1cD5fG7hJ0", "is a placeholder"),
    "insecure": ("insecure-dev-key-q7Vx2LmN9pR4sT6wY8zA1bC3dE5f", "is a placeholder"),
    "one character": ("a" * 48, "has too little entropy: it repeats itself"),
    "phrase repeated": ("correct horse battery staple " * 2, "has too little entropy"),
    "sequence": ("abcdefghijklmnopqrstuvwxyz0123456789", "steps through a sequence"),
    "three characters": ("yxyzxxzxyzxzxxxyyxxxzyxzxxzzzxzzyxxxzxyy", "about 63 bits"),
}


@pytest.mark.parametrize(("key", "problem"), WEAK_KEYS.values(), ids=WEAK_KEYS.keys())
def test_weak_keys_are_refused_with_how_to_make_one(key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_secret(key)
    message = str(refused.value)
    assert message.startswith("webserver.secret_key ")
    assert problem in message
    assert HOW in message
    assert key not in message  # a refused key is not written to the log


@pytest.mark.parametrize(
    "key",
    [
        secrets.token_urlsafe(48),
        secrets.token_urlsafe(24),
        secrets.token_hex(32),
        "900243c0166b1421c9b1c2cb9d06c143",  # 32 random hex digits, only 10 distinct
        "test-secret-key-that-is-long-enough-for-hs256",
    ],
    ids=["token_urlsafe(48)", "token_urlsafe(24)", "token_hex(32)", "hex-32", "tests' key"],
)
def test_random_keys_are_accepted(key: str) -> None:
    assert check_secret(key) == key


@pytest.mark.parametrize(("key", "problem"), WEAK_KEYS.values(), ids=WEAK_KEYS.keys())
def test_create_app_refuses_a_weak_key(
    template: Path, tmp_path: Path, key: str, problem: str
) -> None:
    settings = make_settings(
        "sqlite:///:memory:", tmp_path, dags_folder=template / "dags", secret_key=key
    )
    with pytest.raises(ConfigError, match=problem) as refused:
        create_app(settings)
    assert HOW in str(refused.value)


@pytest.mark.parametrize(("key", "problem"), WEAK_KEYS.values(), ids=WEAK_KEYS.keys())
def test_loom_webserver_refuses_to_start_with_a_weak_key(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, key: str, problem: str
) -> None:
    monkeypatch.setenv("LOOM__DATABASE__URL", sqlite_url)
    monkeypatch.setenv("LOOM__WEBSERVER__SECRET_KEY", key)
    result = CliRunner().invoke(cli, ["webserver", "--port", "8999"])
    assert result.exit_code == 1, result.output
    assert "webserver.secret_key" in result.output
    assert problem in result.output
    assert HOW in result.output


def test_standalone_refuses_a_configured_placeholder_and_accepts_its_own_key(
    tmp_path: Path,
) -> None:
    key, problem = WEAK_KEYS["change-me"]
    configured = load_settings(
        {"LOOM_HOME": str(tmp_path), "LOOM__WEBSERVER__SECRET_KEY": key}, cwd=tmp_path
    )
    with pytest.raises(ConfigError, match=problem):
        serve_in_thread(configured, threading.Event())
    generated = ensure_secret_key(load_settings({"LOOM_HOME": str(tmp_path)}, cwd=tmp_path))
    assert check_secret(generated.webserver.secret_key)
