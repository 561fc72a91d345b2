"""A DAG's template arguments (user_defined_macros/filters, render_template_as_native_obj,
template_searchpath) and operators' template_fields, template_ext and renderers."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from engine import DAG, BaseOperator, BashOperator, PythonOperator
from engine.authoring.params import resolve_params
from engine.authoring.serialization import SerializedDAG
from engine.authoring.validation import validate_dag
from engine.errors import TemplateError
from engine.execution.attempt import render_task
from engine.execution.context import RunInfo, TaskInstanceHandle, build_context
from engine.execution.dagtest import DagTestRun
from engine.execution.xcoms import MemoryXComStore
from engine.state import DagRunState

LOGICAL = datetime(2026, 3, 4, tzinfo=UTC)


class LoadOperator(BaseOperator):
    """A custom operator as Airflow users write them."""

    template_fields = ("sql", "target")
    template_ext = (".sql",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql"}

    def __init__(self, task_id: str, *, sql: str, target: str, **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        self.sql = sql
        self.target = target

    def execute(self, context: Mapping[str, Any]) -> Any:
        return [self.sql, self.target]


def rendered(dag: DAG, task_id: str) -> Any:
    run = RunInfo(dag.dag_id, "manual__1", LOGICAL, LOGICAL, LOGICAL)
    ti = TaskInstanceHandle(dag.dag_id, "manual__1", task_id, 1, 1, MemoryXComStore())
    task = dag.get_task(task_id)
    params = resolve_params(dag.params, {})
    return render_task(task, build_context(dag=dag, task=task, run=run, ti=ti, params=params))


def dag_in(folder: Path, **kwargs: Any) -> DAG:
    dag = DAG("tpl", **kwargs)
    dag.fileloc = str(folder / "tpl.py")
    return dag


def test_user_defined_macros_and_filters() -> None:
    with DAG(
        "d",
        user_defined_macros={"project": "alpha", "double": lambda x: x * 2},
        user_defined_filters={"shout": lambda s: s.upper() + "!"},
    ) as dag:
        BashOperator(task_id="t", bash_command="echo {{ project | shout }} {{ double(21) }}")
    assert rendered(dag, "t").bash_command == "echo ALPHA! 42"


def test_macros_of_one_dag_do_not_leak_into_another() -> None:
    with DAG("a", user_defined_macros={"project": "alpha"}) as a:
        BashOperator(task_id="t", bash_command="echo {{ project }}")
    with DAG("b") as b:
        BashOperator(task_id="t", bash_command="echo {{ project }}")
    assert rendered(a, "t").bash_command == "echo alpha"
    with pytest.raises(TemplateError, match="bash_command of task 't': 'project' is undefined"):
        rendered(b, "t")


def test_render_template_as_native_obj_keeps_python_types() -> None:
    with DAG("n", render_template_as_native_obj=True) as dag:
        PythonOperator(
            task_id="t",
            python_callable=lambda **_: None,
            op_kwargs={"numbers": "{{ [1, 2, 3] }}", "n": "{{ 40 + 2 }}", "s": "x{{ 1 }}"},
        )
    with DAG("s") as text_dag:
        PythonOperator(task_id="t", python_callable=lambda **_: None,
                       op_kwargs={"numbers": "{{ [1, 2, 3] }}"})  # fmt: skip
    assert rendered(dag, "t").op_kwargs == {"numbers": [1, 2, 3], "n": 42, "s": "x1"}
    assert rendered(text_dag, "t").op_kwargs == {"numbers": "[1, 2, 3]"}


def test_a_bash_command_ending_in_sh_is_read_from_the_dag_folder_and_rendered(
    tmp_path: Path,
) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "load.sh").write_text("echo loading {{ ds }} into {{ params.t }}\n")
    with dag_in(tmp_path, params={"t": "sales"}) as dag:
        BashOperator(task_id="t", bash_command="scripts/load.sh")
        BashOperator(task_id="spaced", bash_command="scripts/load.sh ")  # not a file: Airflow's
    assert rendered(dag, "t").bash_command == "echo loading 2026-03-04 into sales\n"
    assert rendered(dag, "spaced").bash_command == "scripts/load.sh "


def test_template_searchpath_is_searched_after_the_dag_folder(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "q.sql").write_text("SELECT '{{ ds }}' -- {% include 'part.sql' %}")
    (shared / "part.sql").write_text("{{ run_id }}")
    elsewhere = tmp_path / "abs"
    elsewhere.mkdir()
    (elsewhere / "other.sql").write_text("SELECT 2")
    with dag_in(tmp_path, template_searchpath=["shared", str(elsewhere)]) as dag:
        LoadOperator(task_id="t", sql="q.sql", target="{{ ds_nodash }}")
        LoadOperator(task_id="u", sql="other.sql", target="x")
    assert rendered(dag, "t").sql == "SELECT '2026-03-04' -- manual__1"
    assert rendered(dag, "t").target == "20260304"
    assert rendered(dag, "u").sql == "SELECT 2"


def test_a_missing_template_file_names_the_field_and_the_places_searched(tmp_path: Path) -> None:
    with dag_in(tmp_path) as dag:
        LoadOperator(task_id="t", sql="missing.sql", target="x")
    with pytest.raises(TemplateError, match=r"sql of task 't': template file 'missing.sql' not "
                       r"found in \['" + str(tmp_path)):  # fmt: skip
        rendered(dag, "t")


def test_an_undefined_name_in_a_template_file_names_field_and_name(tmp_path: Path) -> None:
    (tmp_path / "bad.sh").write_text("echo {{ nope }}")
    with dag_in(tmp_path) as dag:
        BashOperator(task_id="t", bash_command="bad.sh")
    with pytest.raises(TemplateError, match="bash_command of task 't': 'nope' is undefined"):
        rendered(dag, "t")


def test_a_custom_operators_fields_and_renderers_are_serialized() -> None:
    with DAG("c") as dag:
        LoadOperator(task_id="t", sql="SELECT {{ ds }}", target="t")
        BashOperator(task_id="b", bash_command="true")
    tasks = SerializedDAG.from_dict(SerializedDAG.from_dag(dag).to_dict()).tasks
    assert tasks["t"].template_fields == ("sql", "target")
    assert tasks["t"].template_fields_renderers == {"sql": "sql"}
    assert tasks["b"].template_fields_renderers == {"bash_command": "bash", "env": "json"}
    assert rendered(dag, "t").sql == "SELECT 2026-03-04"


def test_bad_template_arguments_are_problems_naming_them() -> None:
    with DAG(
        "bad",
        template_searchpath=5,  # type: ignore[arg-type]
        user_defined_macros=["x"],  # type: ignore[arg-type]
        user_defined_filters={"f": "not callable"},  # type: ignore[dict-item]
        render_template_as_native_obj="yes",  # type: ignore[arg-type]
    ) as dag:
        BashOperator(task_id="t", bash_command="true")
    assert [p.message for p in validate_dag(dag)] == [
        "template_searchpath must be a folder or a list of folders, got 5",
        "user_defined_macros must be a dict of names to values, got ['x']",
        "user_defined_filters['f'] must be callable, got 'not callable'",
        "render_template_as_native_obj must be True or False, got 'yes'",
    ]


def test_a_script_file_runs_end_to_end_in_dags_test(tmp_path: Path) -> None:
    dag_file = tmp_path / "scripted.py"
    dag_file.write_text(
        textwrap.dedent("""
        from engine import DAG, BashOperator
        with DAG("scripted", user_defined_macros={"greeting": "hi"}) as dag:
            BashOperator(task_id="run", bash_command="run.sh")
    """)
    )
    (tmp_path / "run.sh").write_text("echo {{ greeting }} {{ ds }} > {{ dag_run.conf.out }}\n")
    namespace: dict[str, Any] = {"__file__": str(dag_file)}
    exec(compile(dag_file.read_text(), str(dag_file), "exec"), namespace)
    dag = namespace["dag"]
    dag.fileloc = str(dag_file)
    out = tmp_path / "out.txt"
    report = DagTestRun(dag, conf={"out": str(out)}, logical_date=LOGICAL, echo=lambda _: None)
    assert report.run().state is DagRunState.SUCCESS
    assert out.read_text() == "hi 2026-03-04\n"


def test_python_templates_exts_and_render_template_as_in_airflows_tutorial(
    tmp_path: Path,
) -> None:
    (tmp_path / "q.sql").write_text("select '{{ params.who }}'")
    seen: dict[str, Any] = {}

    def work(sql: str, **context: Any) -> None:
        seen["sql"] = sql
        seen["again"] = context["task"].render_template("{{ run_id }} {{ sql_name }}", context)

    with dag_in(tmp_path, params={"who": "me"}, user_defined_macros={"sql_name": "q"}) as dag:
        PythonOperator(task_id="t", python_callable=work, op_kwargs={"sql": "q.sql"},
                       templates_exts=[".sql"])  # fmt: skip
    report = DagTestRun(dag, logical_date=LOGICAL, echo=lambda _: None).run()
    assert report.state is DagRunState.SUCCESS, report.tasks["t"].error
    assert seen == {"sql": "select 'me'", "again": f"{report.run_id} q"}


def test_an_xcom_arg_in_an_f_string_renders_to_its_value() -> None:
    with DAG("f") as dag:
        push = BashOperator(task_id="push", bash_command="echo pushed")
        BashOperator(task_id="pull", bash_command=f"test '{push.output}' = pushed")
        push >> dag.get_task("pull")
    assert str(push.output) == (
        "{{ task_instance.xcom_pull(task_ids='push', dag_id='f', key='return_value') }}"
    )
    report = DagTestRun(dag, echo=lambda _: None).run()
    assert report.state is DagRunState.SUCCESS, report.tasks["pull"].error
