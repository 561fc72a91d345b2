"""``loom dags test``: run one DAG run in this process, with no service needed."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from engine.authoring.operators.isolated.environments import virtualenv_defaults
from engine.cli.common import emit, loom_context, output_option, parse_conf, parse_logical_date
from engine.execution.dagtest import DagTestRun
from engine.parser.inprocess import find_dag_file, load_dag
from engine.parser.options import ParseOptions
from engine.runtime.virtualenvs import virtualenv_defaults_from


@click.command("test")
@click.argument("dag_id")
@click.option("--conf", help="Run configuration as a JSON object (checked against params).")
@click.option("--logical-date", help="Logical date of the run (ISO 8601); default: now.")
@click.option(
    "--retry-delay-scale",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Multiply retry delays by this factor; 0 retries at once.",
)
@click.option(
    "--file",
    "file_",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The DAG file, if you know it (skips searching the dags folder).",
)
@output_option
def command(
    dag_id: str,
    conf: str | None,
    logical_date: str | None,
    retry_delay_scale: float,
    file_: Path | None,
    output: str,
) -> None:
    """Run one DAG run in this process and print each task's final state.

    Honours dependencies, trigger rules, branches, retries and XCom. Exits 0 only when
    the run succeeded.
    """
    settings = loom_context().settings
    options = ParseOptions.from_settings(settings)
    run_conf, when = parse_conf(conf), parse_logical_date(logical_date)
    path = file_.resolve() if file_ else find_dag_file(dag_id, options)
    dag = load_dag(dag_id, path, options)
    as_json = output == "json"
    echo = (lambda _: None) if as_json else click.echo
    # With --output json, stdout carries the JSON alone: the tasks' own output goes to stderr.
    venvs = virtualenv_defaults_from(settings)
    with (
        contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext(),
        virtualenv_defaults(venvs),
    ):
        report = DagTestRun(
            dag,
            conf=run_conf,
            logical_date=when,
            retry_delay_scale=retry_delay_scale,
            echo=echo,
            conf_overrides=settings.core.dag_run_conf_overrides_params,
        ).run()
    rows = [
        {"task_id": t.label, "state": t.state.value, "tries": t.tries,
         "duration": round(t.duration, 3), "error": t.error}
        for task in report.tasks.values()
        for t in [task, *task.instances]
    ]  # fmt: skip
    if output == "json":
        emit(
            {"dag_id": dag_id, "run_id": report.run_id, "state": report.state.value, "tasks": rows},
            output,
        )
    else:
        click.echo("")
        emit(rows, output, ["task_id", "state", "tries", "duration", "error"])
        click.echo(f"\nDAG run {report.run_id}: {report.state.value}")
    if not report.succeeded:
        click.get_current_context().exit(1)
