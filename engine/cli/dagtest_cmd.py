"""``loom dags test``: run one DAG run in this process, with no service needed."""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from engine.cli.common import emit, loom_context, output_option
from engine.dagtest import DagTestRun
from engine.dagtest_loading import find_dag_file, load_dag
from engine.errors import InvalidInputError
from engine.schedules import ensure_aware


def _conf(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"--conf is not valid JSON: {exc.msg} at column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise InvalidInputError("--conf must be a JSON object, such as '{\"key\": 1}'")
    return value


def _logical_date(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return ensure_aware(datetime.fromisoformat(text))
    except ValueError:
        raise InvalidInputError(
            f"--logical-date {text!r} is not an ISO date, "
            "such as 2026-01-31 or 2026-01-31T06:00+01:00"
        ) from None


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
    core = loom_context().settings.core
    timeout = core.parse_timeout.total_seconds()
    run_conf, when = _conf(conf), _logical_date(logical_date)
    path = (
        file_.resolve()
        if file_
        else find_dag_file(
            dag_id,
            dags_folder=core.dags_folder,
            timeout=timeout,
            parallelism=core.parse_parallelism,
        )
    )
    dag = load_dag(dag_id, path, dags_folder=core.dags_folder, timeout=timeout)
    as_json = output == "json"
    echo = (lambda _: None) if as_json else click.echo
    # With --output json, stdout carries the JSON alone: the tasks' own output goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        report = DagTestRun(
            dag, conf=run_conf, logical_date=when, retry_delay_scale=retry_delay_scale, echo=echo
        ).run()
    rows = [
        {"task_id": t.task_id, "state": t.state.value, "tries": t.tries,
         "duration": round(t.duration, 3), "error": t.error}
        for t in report.tasks.values()
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
