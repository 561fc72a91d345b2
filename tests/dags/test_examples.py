"""Every example DAG passes ``loom dags validate`` and ``loom dags test``, via the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import loom

EXAMPLES = Path(__file__).resolve().parents[2] / "dags"
EXAMPLE_IDS = [
    "branching",
    "conditional_paths",
    "cron_report",
    "dynamic_mapping",
    "etl_taskflow",
    "fan_out_fan_in",
    "flaky_retry",
    "fx_rates",
    "isolated_python",
    "mapped_task_group",
    "match_days",
    "orders_landing",
    "orders_report",
    "params_example",
    "sensors",
    "setup_teardown",
    "stock_check",
    "task_groups",
    "templated_bash",
    "templates_and_xcom",
    "trigger_form",
]


@pytest.fixture(autouse=True)
def _examples_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM__CORE__DAGS_FOLDER", str(EXAMPLES))


def test_examples_validate_cleanly() -> None:
    result = loom("dags", "validate", "--output", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sorted(report["dags"]) == EXAMPLE_IDS
    assert report["problems"] == []


@pytest.mark.slow
@pytest.mark.parametrize("dag_id", EXAMPLE_IDS)
def test_example_runs_to_success(dag_id: str) -> None:
    result = loom("dags", "test", dag_id, "--retry-delay-scale", "0", "--output", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["state"] == "success"
    assert {t["state"] for t in report["tasks"]} <= {"success", "skipped"}


def test_flaky_example_succeeds_on_its_second_try() -> None:
    result = loom("dags", "test", "flaky_retry", "--retry-delay-scale", "0", "-o", "json")
    tasks = {t["task_id"]: t for t in json.loads(result.stdout)["tasks"]}
    assert tasks["flaky"]["tries"] == 2
    assert tasks["flaky"]["state"] == "success"


def test_mapping_example_expands_each_mapped_task() -> None:
    result = loom("dags", "test", "dynamic_mapping", "-o", "json")
    assert result.exit_code == 0, result.output
    states = {t["task_id"]: t["state"] for t in json.loads(result.stdout)["tasks"]}
    instances = {name.split("[")[0]: name for name in states if "[" in name}
    assert {"count_rows", "greet", "copy", "shout"} <= instances.keys()
    assert {f"count_rows[{i}]" for i in range(3)} | {"copy[0]", "copy[1]", "shout[2]"} <= set(
        states
    )
    assert "copy[2]" not in states
    assert "rows per file: [100, 90, 100]" in result.output
    # .concat: one instance per element of both lists, in order
    concatenated = [name for name in states if name.startswith("shout_names[")]
    assert concatenated == [f"shout_names[{i}]" for i in range(5)]
    assert {states[name] for name in concatenated} == {"success"}
    assert "names: ['ORDERS.CSV', 'USERS.CSV', 'EVENTS.CSV', '2024.TAR', '2025.TAR']" in (
        result.output
    )


def test_table_output_prints_each_task_and_the_run_state() -> None:
    result = loom("dags", "test", "fan_out_fan_in")
    assert result.exit_code == 0, result.output
    assert "process_north: success (try 1/1)" in result.output
    assert "DAG run test__" in result.output
    assert result.output.rstrip().endswith(": success")


def test_mapped_group_example_is_depth_first() -> None:
    result = loom("dags", "test", "mapped_task_group", "-o", "json")
    tasks = {t["task_id"]: t["state"] for t in json.loads(result.stdout)["tasks"]}
    assert [tasks[f"convert.check[{i}]"] for i in range(3)] == ["success", "skipped", "success"]
    assert tasks["report"] == "success"


def test_conf_is_checked_against_params() -> None:
    result = loom("dags", "test", "params_example", "--conf", '{"target": "moon"}')
    assert result.exit_code == 1
    assert "param 'target' must be one of ['staging', 'production']" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--conf", "{not json"], "--conf is not valid JSON"),
        (["--conf", "[1, 2]"], "--conf must be a JSON object"),
        (["--logical-date", "yesterday"], "--logical-date 'yesterday' is not an ISO date"),
    ],
)
def test_bad_options_are_clear_errors(args: list[str], message: str) -> None:
    result = loom("dags", "test", "etl_taskflow", *args)
    assert result.exit_code == 1
    assert message in result.output


def test_unknown_dag_lists_the_known_ones() -> None:
    result = loom("dags", "test", "nope")
    assert result.exit_code == 1
    assert "no DAG 'nope'" in result.output
    assert "etl_taskflow" in result.output


def test_a_failing_run_exits_non_zero(tmp_path: Path) -> None:
    failing = tmp_path / "failing.py"
    failing.write_text(
        "from engine import DAG, BashOperator\n"
        "with DAG('failing') as dag:\n"
        "    BashOperator(task_id='fail', bash_command='echo doomed; exit 4')\n"
    )
    result = loom("dags", "test", "failing", "--file", str(failing))
    assert result.exit_code == 1
    assert "fail: failed (try 1/1) BashCommandFailed: command exited with status 4" in result.output
    assert result.output.rstrip().endswith(": failed")


def test_isolated_python_example_branches_from_a_virtualenv() -> None:
    result = loom("dags", "test", "isolated_python", "-o", "json")
    assert result.exit_code == 0, result.output
    states = {t["task_id"]: t["state"] for t in json.loads(result.stdout)["tasks"]}
    assert states == {
        "measure": "success",
        "route": "success",
        "alert": "success",
        "all_quiet": "skipped",
        "report": "success",
        "summarize": "success",
    }
    assert "4 readings" in result.output
