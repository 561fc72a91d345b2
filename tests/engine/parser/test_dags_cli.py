"""``loom dags``: validate (no database), reparse, list, show, pause and unpause."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli
from tests.engine.parser.conftest import FIXTURES, dag_source, marked_line

VALIDATION = FIXTURES / "validation"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["dags", *args])


@pytest.fixture
def configured(dags_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings that point at an empty DAG folder (and a database never created)."""
    monkeypatch.setenv("LOOM__CORE__DAGS_FOLDER", str(dags_folder))
    monkeypatch.setenv("LOOM__CORE__PARSE_TIMEOUT", "10")
    return dags_folder


@pytest.fixture
def with_db(configured: Path, migrated_sqlite: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOOM__DATABASE__URL", migrated_sqlite)
    return configured


# -- validate -----------------------------------------------------------------------------


def test_validate_a_good_folder_exits_zero(configured: Path) -> None:
    (configured / "etl.py").write_text(dag_source("etl", "etl_hourly"))
    (configured / "other.py").write_text(dag_source("other"))
    result = invoke("validate")
    assert result.exit_code == 0, result.output
    assert result.stdout == "2 files, 3 DAGs, no problems\n"


def test_validate_prints_every_problem_with_file_and_line_and_exits_one() -> None:
    result = invoke("validate", str(VALIDATION))
    assert result.exit_code == 1
    for path in sorted(VALIDATION.glob("*.py")):
        assert f"{path}:{marked_line(path)}: DAG '{path.stem}': " in result.stdout
    assert "Error: 7 files, 0 DAGs, 7 problem(s)" in result.stderr


def test_validate_one_file_as_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("from engine import DAG\nDAG('x', max_active_runs=0)\n")
    result = invoke("validate", str(path), "--output", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert (document["files"], document["dags"]) == (1, [])
    [problem] = document["problems"]
    assert problem["file"] == str(path)
    assert problem["message"] == (
        f"{path}:2: DAG 'x': max_active_runs must be a positive integer, got 0"
    )


def test_validate_reports_crashes_without_a_database(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(dag_source("good"))
    (tmp_path / "crash.py").write_text("import os  # a DAG file\nos.abort()\n")
    result = invoke("validate", str(tmp_path), "--tracebacks")
    assert result.exit_code == 1
    assert f"{tmp_path / 'crash.py'}: the parser process died of signal SIGABRT" in result.stdout
    assert f'File "{tmp_path / "crash.py"}", line 2' in result.stdout
    assert "2 files, 1 DAGs, 1 problem(s)" in result.stderr


def test_validate_warns_about_conf_spliced_into_a_shell_command(configured: Path) -> None:
    (configured / "shell.py").write_text(
        "from datetime import datetime\n"
        "from engine import DAG, BashOperator\n"
        "with DAG('shell', schedule=None, start_date=datetime(2026, 1, 1)):\n"
        "    BashOperator(task_id='a', bash_command='echo {{ dag_run.conf.x }}')\n"
        "    BashOperator(task_id='b', bash_command='echo {{ dag_run.conf.x | sh }}')\n"
    )
    result = invoke("validate")
    assert result.exit_code == 0, result.output  # a warning does not fail validation
    assert result.stdout.startswith(
        f"warning: {configured / 'shell.py'}: DAG 'shell': task 'a': bash_command "
        "interpolates {{ dag_run.conf }} without '| sh'"
    )
    assert "task 'b'" not in result.stdout
    document = json.loads(invoke("validate", "--output", "json").stdout)
    assert [w["dag_id"] for w in document["warnings"]] == ["shell"]


# -- commands on the database -------------------------------------------------------------


def test_commands_fail_clearly_on_a_database_never_upgraded(
    configured: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOM__DATABASE__URL", sqlite_url)
    for args in (["list"], ["reparse"], ["pause", "etl"]):
        result = invoke(*args)
        assert result.exit_code == 1
        assert "database not initialised: run `loom db upgrade`" in result.stderr


def test_reparse_then_list_and_show(with_db: Path) -> None:
    (with_db / "etl.py").write_text(dag_source("etl", tasks=("extract", "load"), paused=True))
    (with_db / "broken.py").write_text("import nope  # a DAG file\n")

    reparse = invoke("reparse")
    assert reparse.exit_code == 0, reparse.output
    assert "2 files: 2 parsed, 0 unchanged, 0 deleted" in reparse.stdout
    assert "added: etl" in reparse.stdout
    assert "No module named 'nope'" in reparse.stderr
    again = invoke("reparse", "--output", "json")
    assert json.loads(again.stdout)["unchanged"] == 2

    listed = invoke("list", "--output", "json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == [
        {
            "dag_id": "etl",
            "schedule": "@daily",
            "paused": True,
            "owner": "data",
            "tags": ["team"],
            "file": str(with_db / "etl.py"),
        }
    ]
    assert "1 import error(s)" in listed.stderr

    shown = invoke("show", "etl", "--output", "json")
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert document["dag"]["schedule"] == "@daily"
    assert [(t["task_id"], t["upstream"]) for t in document["tasks"]] == [
        ("extract", []),
        ("load", ["extract"]),
    ]
    table = invoke("show", "etl").stdout
    assert "load" in table
    assert "extract" in table.split("load", 1)[1]


def test_list_hides_inactive_dags_unless_asked(with_db: Path) -> None:
    path = with_db / "etl.py"
    path.write_text(dag_source("etl"))
    invoke("reparse")
    path.unlink()
    assert "deactivated: etl" in invoke("reparse").stdout
    assert invoke("list").stdout == "(none)\n"
    rows = json.loads(invoke("list", "--include-inactive", "-o", "json").stdout)
    assert [(row["dag_id"], row["active"]) for row in rows] == [("etl", False)]


def test_pause_and_unpause(with_db: Path) -> None:
    (with_db / "etl.py").write_text(dag_source("etl"))
    invoke("reparse")

    assert invoke("pause", "etl").stdout == "DAG etl is paused\n"
    assert json.loads(invoke("list", "-o", "json").stdout)[0]["paused"] is True
    assert invoke("unpause", "etl").stdout == "DAG etl is unpaused\n"
    assert json.loads(invoke("list", "-o", "json").stdout)[0]["paused"] is False


@pytest.mark.parametrize("command", ["pause", "unpause", "show"])
def test_unknown_dag_is_a_clear_error(with_db: Path, command: str) -> None:
    result = invoke(command, "nope")
    assert result.exit_code == 1
    assert "no DAG 'nope'" in result.stderr


def test_versions_lists_each_graph_with_its_runs(with_db: Path) -> None:
    (with_db / "etl.py").write_text(dag_source("etl", tasks=("extract", "load")))
    assert invoke("reparse").exit_code == 0
    triggered = invoke("trigger", "etl", "--run-id", "on_v1")
    assert triggered.exit_code == 0, triggered.output
    (with_db / "etl.py").write_text(dag_source("etl", tasks=("extract", "clean", "load")))
    assert invoke("reparse").exit_code == 0

    shown = CliRunner().invoke(cli, ["runs", "show", "etl", "on_v1", "--output", "json"])
    assert json.loads(shown.stdout)["dag_version"] == 1

    listed = invoke("versions", "etl", "--output", "json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["version"], r["tasks"], r["runs"]) for r in rows] == [(2, 3, 0), (1, 2, 1)]
    assert all(len(r["hash"]) == 64 and r["created"] for r in rows)

    table = invoke("versions", "etl")
    assert table.exit_code == 0, table.output
    header, *lines = table.stdout.splitlines()
    assert header.split() == ["version", "created", "hash", "tasks", "runs"]
    assert lines[-1].split()[0] == "1"
    assert rows[1]["hash"][:12] in lines[-1]
    assert rows[1]["hash"][:13] not in lines[-1]


def test_versions_of_an_unknown_dag_is_an_error_naming_it(with_db: Path) -> None:
    result = invoke("versions", "nope")
    assert result.exit_code != 0
    assert "no DAG 'nope'" in result.stderr


@pytest.mark.postgres
def test_reparse_waits_for_a_schedulers_pass_instead_of_writing_beside_it(
    configured: Path, postgres_url: str
) -> None:
    import subprocess

    import sqlalchemy as sa

    from engine.models import migrate
    from engine.parser.options import ParseOptions
    from engine.parser.processor import parse_files
    from engine.parser.sync import refresh_dags, take_parse_lock
    from engine.timeutil import utcnow
    from tests.support.database import database_sessions
    from tests.support.processes import LOOM, outside_environ, wait_until

    migrate.upgrade_and_seed(postgres_url)
    (configured / "etl.py").write_text(dag_source("etl"))
    env = {
        **outside_environ(),
        "LOOM__DATABASE__URL": postgres_url,
        "LOOM__CORE__DAGS_FOLDER": str(configured),
    }
    with database_sessions(postgres_url) as sessions:
        with sessions.begin() as session:  # a scheduler's pass that has not committed yet
            assert take_parse_lock(session=session, wait=False)
            refresh_dags(
                session=session, options=ParseOptions(configured, timeout=10, parallelism=1),
                now=utcnow(), parser=parse_files,
            )  # fmt: skip
            reparse = subprocess.Popen(
                [LOOM, "dags", "reparse"], env=env, stdout=subprocess.PIPE, text=True
            )
            waiting = "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            try:
                with sessions() as observer:
                    wait_until(lambda: observer.execute(sa.text(waiting)).first(), 30,
                               what="reparse waiting for the lock")  # fmt: skip
            except AssertionError:
                reparse.kill()
                raise
        out, _ = reparse.communicate(timeout=60)
    assert reparse.returncode == 0
    assert "1 files: 0 parsed, 1 unchanged" in out
