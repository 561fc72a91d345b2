"""Virtualenv and external-Python tasks run by ``loom dags test``: real environments under
LOOM_HOME, real child interpreters; arguments, context values and results cross over,
output lands in the log, and exits and exceptions become Airflow's outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli
from tests.engine.virtualenv.wheels import build_wheel

pytestmark = pytest.mark.slow

DAG_FILE = """
import json
import os
import sys
from datetime import datetime, timezone

from engine import (
    DAG, BranchExternalPythonOperator, EmptyOperator, ExternalPythonOperator,
    PythonVirtualenvOperator, task,
)

WHEELS = os.environ["LOOMTINY_WHEELS"]
OUT = os.environ["LOOMTINY_OUT"]


def pickled(when, label):
    return f"{label} {when.isoformat()} {type(when).__name__}"


def choose():
    return "left"


with DAG("isolated", schedule=None, start_date=datetime(2026, 1, 1), params={"n": 3}):

    @task.virtualenv(
        requirements=["loomtiny==1.0"],
        system_site_packages=False,
        pip_install_options=["--no-index", "--find-links", WHEELS],
    )
    def versioned(n, ds=None, logical_date=None, params=None):
        import sys

        import loomtiny

        print("printed inside", sys.prefix)
        return {
            "version": loomtiny.VERSION,
            "n": n * params["n"],
            "ds_matches": ds == logical_date.strftime("%Y-%m-%d"),
            "date_type": type(logical_date).__name__,
        }

    @task.external_python(python=sys.executable, string_args=["a", "b"])
    def external(value):
        return [value["version"], virtualenv_string_args]

    when = PythonVirtualenvOperator(
        task_id="pickled",
        python_callable=pickled,
        serializer="pickle",
        op_kwargs={"when": datetime(2026, 1, 2, tzinfo=timezone.utc), "label": "{{ ds }}"},
    )

    @task.virtualenv
    def skip_by_exception():
        from engine import AirflowSkipException

        raise AirflowSkipException("nothing to do today")

    @task.virtualenv(skip_on_exit_code=[42])
    def skip_by_exit_code():
        import sys

        sys.exit(42)

    @task.virtualenv(retries=1, retry_delay=0)
    def crash():
        rows = [1, 2]
        raise ValueError(f"bad row {len(rows) + 5}")

    @task.external_python(python=sys.executable, retries=2)
    def fail_fast():
        from engine import AirflowFailException

        raise AirflowFailException("no point retrying")

    @task.virtualenv
    def exit_three():
        import sys

        print("about to exit")
        sys.exit(3)

    missing = ExternalPythonOperator(
        task_id="missing_python", python_callable=choose, python="/nowhere/bin/python"
    )

    @task
    def collect(first, second, third):
        with open(OUT, "w") as file:
            json.dump({"versioned": first, "external": second, "pickled": third}, file)

    branch = BranchExternalPythonOperator(
        task_id="branch", python_callable=choose, python=sys.executable
    )
    first = versioned(2)
    collect(first, external(first), when.output)
    branch >> [EmptyOperator(task_id="left"), EmptyOperator(task_id="right")]
    skip_by_exception()
    skip_by_exit_code()
    crash()
    fail_fast()
    exit_three()
"""


@pytest.fixture
def dag_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "isolated.py").write_text(DAG_FILE)
    build_wheel(tmp_path / "wheels")
    monkeypatch.setenv("LOOM__CORE__DAGS_FOLDER", str(folder))
    monkeypatch.setenv("LOOMTINY_WHEELS", str(tmp_path / "wheels"))
    monkeypatch.setenv("LOOMTINY_OUT", str(tmp_path / "out.json"))
    return folder


def dags_test() -> Result:
    return CliRunner().invoke(
        cli,
        ["dags", "test", "isolated", "--logical-date", "2026-03-04T05:06:07+00:00", "-o", "json"],
    )


def test_a_dag_of_isolated_tasks_runs_with_airflows_outcomes(
    dag_folder: Path, tmp_path: Path
) -> None:
    result = dags_test()
    report = json.loads(result.stdout)
    tasks = {t["task_id"]: t for t in report["tasks"]}
    states = {tid: t["state"] for tid, t in tasks.items()}
    assert states == {
        "versioned": "success",
        "external": "success",
        "pickled": "success",
        "collect": "success",
        "branch": "success",
        "left": "success",
        "right": "skipped",
        "skip_by_exception": "skipped",
        "skip_by_exit_code": "skipped",
        "crash": "failed",
        "fail_fast": "failed",
        "exit_three": "failed",
        "missing_python": "failed",
    }, result.output
    # Arguments, context values and results crossed over; dates arrive as datetime.
    assert json.loads((tmp_path / "out.json").read_text()) == {
        "versioned": {"version": "1.0", "n": 6, "ds_matches": True, "date_type": "datetime"},
        "external": ["1.0", ["a", "b"]],
        "pickled": "2026-03-04 2026-01-02T00:00:00+00:00 datetime",
    }
    # Failures: retries apply, except after AirflowFailException; each says why.
    assert tasks["crash"]["tries"] == 2
    assert tasks["crash"]["error"] == "IsolatedTaskError: ValueError: bad row 7"
    assert tasks["fail_fast"]["tries"] == 1
    assert tasks["fail_fast"]["error"] == "FailTask: no point retrying"
    assert tasks["exit_three"]["error"].startswith("IsolatedTaskError: the task's process (")
    assert "exited with status 3; its last output:\nabout to exit" in tasks["exit_three"]["error"]
    assert tasks["missing_python"]["error"] == (
        "FileNotFoundError: python '/nowhere/bin/python' does not exist on this worker"
    )
    # The child's output and traceback (with the DAG file's own line) are in the log.
    assert "printed inside" in result.output
    dag_file = dag_folder / "isolated.py"
    line = DAG_FILE.splitlines().index('        raise ValueError(f"bad row {len(rows) + 5}")') + 1
    assert f'File "{dag_file}", line {line}, in crash' in result.output
    assert result.exit_code == 1  # the run failed, as its failed tasks say


def test_environments_are_cached_under_loom_home_and_reused(
    dag_folder: Path, tmp_path: Path
) -> None:
    first = dags_test()
    venvs = sorted((tmp_path / "loom-home" / "venvs").glob("venv-*[!k]"))
    # One isolated env with loomtiny, one with the worker's packages shared by the rest.
    assert len(venvs) == 2, first.output
    assert first.output.count("Creating a virtual environment") == 2  # with uv or venv

    second = dags_test()
    assert "Creating a virtual environment" not in second.output
    assert second.output.count("Reusing the virtual environment") >= 2
    assert sorted((tmp_path / "loom-home" / "venvs").glob("venv-*[!k]")) == venvs
