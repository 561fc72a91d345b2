"""Real virtual environments: built with venv + pip (uv when installed), cached by what
makes them, built once when two processes want the same one at the same time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.authoring.operators.isolated.call import run_checked
from engine.authoring.operators.isolated.environments import (
    MARKER,
    VirtualenvError,
    VirtualenvSpec,
    ensure_cached,
    find_uv,
    interpreter_for,
)
from tests.engine.virtualenv.wheels import build_wheel, offline_options

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def spec_for(wheels: Path, *requirements: str, system: bool = False) -> VirtualenvSpec:
    python, worker_packages = interpreter_for(None)
    return VirtualenvSpec(
        python=python,
        python_version=None,
        requirements=requirements,
        system_site_packages=system,
        pip_install_options=tuple(offline_options(wheels)),
        worker_packages=worker_packages,
    )


def run_in(folder: Path, code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [str(folder / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return (result.stdout + result.stderr).strip()


def test_an_environment_is_built_once_then_reused(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(wheels, version="1.0")
    spec = spec_for(wheels, "loomtiny==1.0")

    folder, built = ensure_cached(spec, tmp_path / "cache", "pip", run_checked)
    assert built
    assert run_in(folder, "import loomtiny; print(loomtiny.VERSION)") == "1.0"
    # Isolated: the worker's own packages are not there.
    assert "ModuleNotFoundError" in run_in(folder, "import jinja2")
    assert json.loads((folder / MARKER).read_text())["requirements"] == ["loomtiny==1.0"]

    again, built_again = ensure_cached(spec, tmp_path / "cache", "pip", run_checked)
    assert (again, built_again) == (folder, False)


def test_other_requirements_or_options_make_another_environment(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(wheels, version="1.0")
    build_wheel(wheels, version="2.0")
    old, _ = ensure_cached(spec_for(wheels, "loomtiny==1.0"), tmp_path / "c", "pip", run_checked)
    new, _ = ensure_cached(spec_for(wheels, "loomtiny==2.0"), tmp_path / "c", "pip", run_checked)
    assert old != new
    assert run_in(new, "import loomtiny; print(loomtiny.VERSION)") == "2.0"
    assert run_in(old, "import loomtiny; print(loomtiny.VERSION)") == "1.0"
    assert spec_for(wheels, system=True).key() != spec_for(wheels).key()


def test_system_site_packages_shows_the_workers_packages_behind_its_own(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(wheels, name="jinja2", version="0.0.1")  # shadows the worker's jinja2
    folder, _ = ensure_cached(
        spec_for(wheels, "jinja2==0.0.1", system=True), tmp_path / "c", "pip", run_checked
    )
    assert run_in(folder, "import jinja2; print(jinja2.VERSION)") == "0.0.1"
    assert run_in(folder, "import sqlalchemy; print('found')") == "found"


def test_an_unfinished_environment_is_rebuilt(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(wheels)
    spec = spec_for(wheels)
    leftover = tmp_path / "c" / f"venv-{spec.key()}"
    leftover.mkdir(parents=True)
    (leftover / "half-written").write_text("a builder died here")

    folder, built = ensure_cached(spec, tmp_path / "c", "pip", run_checked)
    assert built
    assert folder == leftover
    assert not (folder / "half-written").exists()
    assert (folder / MARKER).exists()


def test_a_failed_install_leaves_nothing_behind(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    spec = spec_for(wheels, "loomtiny==9.9")
    with pytest.raises(VirtualenvError, match="exited with status 1"):
        ensure_cached(spec, tmp_path / "c", "pip", run_checked)
    assert not (tmp_path / "c" / f"venv-{spec.key()}").exists()


CONCURRENT = """
import json, sys
from pathlib import Path
from engine.authoring.operators.isolated.call import run_checked
from engine.authoring.operators.isolated.environments import (
    VirtualenvSpec, ensure_cached, interpreter_for,
)
python, packages = interpreter_for(None)
spec = VirtualenvSpec(python=python, python_version=None, requirements=("loomtiny==1.0",),
                      system_site_packages=False,
                      pip_install_options=("--no-index", "--find-links", sys.argv[1]))
folder, built = ensure_cached(spec, Path(sys.argv[2]), "pip", run_checked)
print("RESULT " + json.dumps([str(folder), built]))
"""


def test_two_processes_wanting_the_same_new_environment_build_it_once(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(wheels)
    script = tmp_path / "want.py"
    script.write_text(textwrap.dedent(CONCURRENT))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, str(script), str(wheels), str(tmp_path / "cache")]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=240)[0].decode() for p in procs]
    results = [
        json.loads(line.removeprefix("RESULT "))
        for out in outputs
        for line in out.splitlines()
        if line.startswith("RESULT ")
    ]
    assert len(results) == 2, outputs
    assert results[0][0] == results[1][0]
    assert sorted(built for _, built in results) == [False, True], outputs
    # The one that waited reused what the other built: one install ran in all.
    assert sum(out.count("pip install") for out in outputs) == 1, outputs


def test_a_python_version_the_worker_lacks_is_a_clear_error() -> None:
    with pytest.raises(VirtualenvError, match=r"python_version '2\.5': no python2\.5 on the"):
        interpreter_for("2.5")


def test_uv_builds_an_environment(tmp_path: Path) -> None:
    assert find_uv() is not None, "uv comes with the dev extra (setup.cfg)"
    wheels = tmp_path / "wheels"
    build_wheel(wheels)
    folder, built = ensure_cached(
        spec_for(wheels, "loomtiny==1.0"), tmp_path / "c", "uv", run_checked
    )
    assert built
    assert run_in(folder, "import loomtiny; print(loomtiny.VERSION)") == "1.0"


def test_install_method_uv_without_uv_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no uv on it
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # nor beside Python
    assert find_uv() is None
    with pytest.raises(VirtualenvError, match="install_method is uv, but no uv executable"):
        ensure_cached(spec_for(tmp_path), tmp_path / "c", "uv", run_checked)
