"""An argument Loom does not know is a DAG problem naming it, its task and its line;
arguments Airflow renamed or removed say what to use instead."""

from __future__ import annotations

import inspect
import json
import textwrap
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from engine import DAG, BaseOperator, BashOperator, EmptyOperator, task
from engine.authoring.arguments import HINTS
from engine.authoring.tasksettings import SETTING_NAMES
from engine.authoring.validation import validate_dag
from engine.cli.main import cli


def messages(dag: DAG) -> list[str]:
    return [p.message for p in validate_dag(dag)]


def test_an_unknown_task_argument_names_the_task() -> None:
    with DAG("d") as dag:
        BashOperator(task_id="t", bash_command="true", foo=1)
    assert messages(dag) == ["task 't': unknown argument 'foo' to BashOperator"]


def test_every_hinted_argument_is_really_refused() -> None:
    """The hints (and the README's list of them) stay true: no task takes these names, and
    the DAG takes only those whose hint is about tasks."""
    on_dag = set(inspect.signature(DAG.__init__).parameters)
    on_task = SETTING_NAMES | set(inspect.signature(BaseOperator.__init__).parameters)
    assert sorted(HINTS.keys() & on_task) == []
    # A DAG argument that tasks do not take says so.
    assert all("on tasks" in HINTS[name] for name in HINTS.keys() & on_dag)


def test_unsupported_airflow_arguments_say_why() -> None:
    with DAG("d", access_control={"Viewer": {"can_read"}}) as dag:
        EmptyOperator(task_id="t", start_date=datetime(2026, 1, 1), executor_config={})
    assert messages(dag) == [
        "unknown argument 'access_control' to DAG (not supported: a role's DAGs are chosen "
        "by tag (loom roles), not by DAG files)",
        "task 't': unknown argument 'executor_config' to EmptyOperator (not supported: Loom "
        "has one executor; route with queue= instead)",
        "task 't': unknown argument 'start_date' to EmptyOperator (not supported on tasks: a "
        "task runs in every run of its DAG; set the DAG's start_date (or "
        "default_args['start_date']), or skip with a branch)",
    ]


def test_renamed_airflow_arguments_get_a_hint() -> None:
    with DAG("d", schedule_interval="@daily", concurrency=3) as dag:
        EmptyOperator(task_id="t", task_concurrency=2, sla=60)
    assert messages(dag) == [
        "unknown argument 'concurrency' to DAG (renamed to max_active_tasks in Airflow 3)",
        "unknown argument 'schedule_interval' to DAG (renamed to schedule in Airflow 3)",
        "task 't': unknown argument 'sla' to EmptyOperator (SLAs are removed in Airflow 3: use "
        "deadline= (an alert when the task has not finished that long after its run started))",
        "task 't': unknown argument 'task_concurrency' to EmptyOperator "
        "(renamed to max_active_tis_per_dag in Airflow 3)",
    ]


def test_taskflow_options_are_checked_too() -> None:
    @task(retires=2)
    def work() -> None: ...

    with DAG("d") as dag:
        work()
    assert messages(dag) == ["task 'work': unknown argument 'retires' to PythonOperator"]


def test_default_args_accept_any_operators_argument_but_not_an_unknown_key() -> None:
    default_args = {"retries": 2, "bash_command": "true", "start_date": datetime(2026, 1, 1)}
    with DAG("ok", default_args=default_args) as ok:
        EmptyOperator(task_id="t")
    assert messages(ok) == []
    assert ok.start_date is not None  # Airflow 2's habit: the DAG's start in default_args
    with DAG("bad", default_args={"retries": 2, "not_a_param": 1}) as bad:
        EmptyOperator(task_id="t", default_args={"execution_date": 1})
    assert messages(bad) == [
        "unknown default_args key 'not_a_param' "
        "(no task setting or operator argument has this name)",
        "task 't': unknown default_args key 'execution_date' "
        "(renamed to logical_date in Airflow 3)",
    ]


def test_a_custom_operators_own_argument_is_a_known_default_arg() -> None:
    class Fetch(EmptyOperator):
        def __init__(self, task_id: str, *, endpoint: str = "", **kwargs: object) -> None:
            super().__init__(task_id, **kwargs)  # type: ignore[arg-type]
            self.endpoint = endpoint

    with DAG("d", default_args={"endpoint": "/x"}) as dag:
        Fetch(task_id="t")
    assert messages(dag) == []


def test_validate_shows_the_file_and_line_of_an_unknown_argument(tmp_path: Path) -> None:
    path = tmp_path / "airflow2.py"
    path.write_text(
        textwrap.dedent(
            """\
            from engine import DAG, EmptyOperator
            with DAG('legacy', default_args={'colour': 'red'}):
                EmptyOperator(task_id='t', task_concurrency=1)
            """
        )
    )
    result = CliRunner().invoke(cli, ["dags", "validate", str(path), "--output", "json"])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    got = sorted(line for p in problems for line in p["message"].splitlines())
    assert got == [
        f"{path}:2: DAG 'legacy': unknown default_args key 'colour' "
        "(no task setting or operator argument has this name)",
        f"{path}:3: DAG 'legacy': task 't': unknown argument 'task_concurrency' to "
        "EmptyOperator (renamed to max_active_tis_per_dag in Airflow 3)",
    ]
