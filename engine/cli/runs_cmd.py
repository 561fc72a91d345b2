"""``loom runs``: list a DAG's runs, show one with its tasks, mark one success or failed."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from engine.cli.common import emit, loom_context, output_option
from engine.errors import NotFoundError
from engine.models import DagRun, TaskInstance
from engine.services.dagversions import load_run_dag
from engine.services.runs import get_run, list_runs, mark_run, run_row
from engine.services.taskinstances import in_dag_order, task_instance_row, task_instances
from engine.state import DagRunState
from engine.timeutil import utcnow

RUN_COLUMNS = [
    "run_id", "state", "run_type", "logical_date", "start_date", "duration", "dag_version",
]  # fmt: skip
TASK_COLUMNS = ["task_id", "state", "try_number", "max_tries", "start_date", "duration", "hostname"]


@click.group("runs")
def group() -> None:
    """Dag runs: list, show, mark."""


@group.command("list")
@click.argument("dag_id")
@click.option("--state", type=click.Choice([s.value for s in DagRunState]), help="Only this state.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@output_option
def list_command(dag_id: str, state: str | None, limit: int, output: str) -> None:
    """The newest runs of DAG_ID first."""
    with loom_context().session() as session:
        listed = list_runs(session=session, dag_id=dag_id, state=state, limit=limit)
        rows = [run_row(run) for run in listed.items]
    emit(rows, output, RUN_COLUMNS)


@group.command("show")
@click.argument("dag_id")
@click.argument("run_id")
@output_option
def show_command(dag_id: str, run_id: str, output: str) -> None:
    """One run and its task instances: states, tries, durations."""
    with loom_context().session() as session:
        run = get_run(session=session, dag_id=dag_id, run_id=run_id)
        data = run_row(run)
        tasks = [task_instance_row(ti) for ti in _in_dag_order(session, run)]
    if output == "json":
        emit({**data, "task_instances": tasks}, output)
        return
    emit(data, output)
    click.echo("")
    emit(tasks, output, TASK_COLUMNS)


def _in_dag_order(session: Session, run: DagRun) -> list[TaskInstance]:
    """The run's task instances in DAG order (start order when its graph is gone)."""
    tis = task_instances(session=session, run=run)
    try:
        return in_dag_order(tis, load_run_dag(session=session, run=run).dag)
    except NotFoundError:
        return tis


@group.command("mark")
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("state", type=click.Choice(["success", "failed"]))
def mark_command(dag_id: str, run_id: str, state: str) -> None:
    """Set a run's state by hand; its unfinished tasks end with it (success: they
    succeed; failed: started ones fail, the others are skipped)."""
    with loom_context().session() as session:
        mark_run(
            session=session,
            dag_id=dag_id,
            run_id=run_id,
            state=DagRunState(state),
            now=utcnow(),
        )
    click.echo(f"run {run_id} of {dag_id} marked {state}")
