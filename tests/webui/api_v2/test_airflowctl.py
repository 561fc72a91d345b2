"""``airflowctl`` (Airflow 3's remote CLI, a subprocess) against a Loom webserver: log in
with a username and password, list DAGs, trigger a run, read its state.

airflowctl keeps its token in the system keyring; ``AIRFLOW_CLI_DEBUG_MODE=true`` makes it
keep the token in a file under ``AIRFLOW_HOME`` instead (no keyring in a test run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.webui.world import PASSWORD

AIRFLOWCTL = Path(sys.executable).parent / "airflowctl"


def ctl(home: Path, *args: str) -> str:
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW_CLI_DEBUG_MODE": "true"}
    env.pop("AIRFLOW_CLI_TOKEN", None)
    done = subprocess.run(
        [str(AIRFLOWCTL), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def as_json(output: str) -> Any:
    """The JSON document in airflowctl's output (debug mode may print a warning first)."""
    start = min(i for i in (output.find("{"), output.find("[")) if i >= 0)
    return json.loads(output[start:])


@pytest.fixture
def logged_in(base_url: str, tmp_path: Path) -> Path:
    home = tmp_path / "airflow"
    out = ctl(
        home, "auth", "login", "--api-url", base_url, "--username", "op", "--password", PASSWORD
    )
    assert "Login successful" in out
    return home


def test_list_dags(logged_in: Path) -> None:
    dags = as_json(ctl(logged_in, "dags", "list", "-o", "json"))
    assert sorted(dag["dag_id"] for dag in dags) == ["example", "finance_report"]


def test_trigger_then_read_the_run(logged_in: Path) -> None:
    # airflowctl prints one object as a list of one.
    [run] = as_json(
        ctl(logged_in, "dags", "trigger", "example", "--dag-run-id", "from_ctl", "-o", "json")
    )
    assert run["dag_run_id"] == "from_ctl"
    [got] = as_json(ctl(logged_in, "dagrun", "get", "example", "from_ctl", "-o", "json"))
    assert got["state"] == "queued"


def test_a_wrong_password_does_not_log_in(base_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW_CLI_DEBUG_MODE": "true"}
    done = subprocess.run(
        [
            str(AIRFLOWCTL),
            "auth",
            "login",
            "--api-url",
            base_url,
            "--username",
            "op",
            "--password",
            "wrong",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "Login failed" in done.stdout + done.stderr
