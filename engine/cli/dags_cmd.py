"""``loom dags``: list, show, validate and reparse DAGs, list their versions; pause and
unpause them.

``validate`` needs no database: it parses in child processes and reports. The other
commands read or write the database that ``loom db upgrade`` created.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.cli.common import emit, loom_context, output_option
from engine.cli.registry import LazyGroup
from engine.durations import human_duration
from engine.errors import NotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.models import Dag
    from engine.parser.processor import FileParseResult
    from engine.parser.sync import RefreshReport

NEXT_RUN_COLUMNS = ("run_after", "logical_date", "data_interval_end")
LIST_COLUMNS = ("dag_id", "schedule", "paused", "owner", "tags", "file")
TASK_COLUMNS = ("task_id", "operator", "upstream", "trigger_rule", "retries", "priority", "pool")
VERSION_COLUMNS = ("version", "created", "hash", "tasks", "runs")
HASH_PREFIX = 12
"""Hex digits of a version's hash that a table shows."""
NOT_INITIALISED = "database not initialised: run `loom db upgrade`"


@click.group("dags", cls=LazyGroup, place="dags")
def group() -> None:
    """List, show, validate and reparse DAGs; pause and unpause them."""


@contextmanager
def _session() -> Iterator[Session]:
    """A transaction on a database whose schema exists, else a clear error."""
    from engine.services.daglist import has_schema

    with loom_context().session() as session:
        if not has_schema(session=session):
            raise click.ClickException(NOT_INITIALISED)
        yield session


# -- list and show ------------------------------------------------------------------------


@group.command("list")
@output_option
@click.option("--include-inactive", is_flag=True, help="Also list DAGs whose file is gone.")
def list_(output: str, include_inactive: bool) -> None:
    """List the DAGs in the database (import errors are counted on stderr)."""
    from engine.services.daglist import dag_list, import_error_count

    with _session() as session:
        dags = dag_list(session=session, include_inactive=include_inactive)
        rows = [_dag_row(dag, include_inactive) for dag in dags]
        errors = import_error_count(session=session)
    columns = (*LIST_COLUMNS, "active") if include_inactive else LIST_COLUMNS
    emit(rows, output, columns)
    if errors:
        click.echo(f"{errors} import error(s): run `loom dags validate` for details", err=True)


def _dag_row(dag: Dag, with_active: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "dag_id": dag.dag_id,
        "schedule": dag.schedule,
        "paused": dag.is_paused,
        "owner": dag.owner,
        "tags": list(dag.tags or []),
        "file": dag.fileloc,
    }
    if with_active:
        row["active"] = dag.is_active
    return row


@group.command("show")
@click.argument("dag_id")
@output_option
def show(dag_id: str, output: str) -> None:
    """Show a DAG's settings and its tasks with their upstream tasks."""
    from engine.models import Dag, SerializedDag
    from engine.plugins.loading import load_plugins_or_log
    from engine.services.schedule import schedule_overview
    from engine.timeutil import utcnow

    # A plugin's timetable plans the next runs (deployment code, not the DAG file).
    load_plugins_or_log(loom_context().settings.core.plugins_folder)
    with _session() as session:
        dag = session.get(Dag, dag_id)
        serialized = session.get(SerializedDag, dag_id)
        if dag is None or serialized is None:
            raise NotFoundError(f"no DAG {dag_id!r}")
        settings = _settings(dag, serialized.data)
        tasks = _task_rows(serialized.data["tasks"])
        overview = schedule_overview(session=session, dag_id=dag_id, now=utcnow())
    settings["schedule_description"] = overview.description
    upcoming = [vars(run) for run in overview.next_runs]
    if output == "json":
        emit({"dag": settings, "next_runs": upcoming, "tasks": tasks}, output)
        return
    emit(settings, output)
    if upcoming:
        click.echo()
        click.echo(f"Next {len(upcoming)} runs:")
        emit(upcoming, output, NEXT_RUN_COLUMNS)
    click.echo()
    emit(tasks, output, TASK_COLUMNS)


@group.command("versions")
@click.argument("dag_id")
@output_option
def versions(dag_id: str, output: str) -> None:
    """List a DAG's versions, newest first, with the runs created on each."""
    from engine.services.dagversions import list_versions

    with _session() as session:
        rows = [
            {
                "version": v.version_number,
                "created": v.created_at,
                "hash": v.dag_hash if output == "json" else v.dag_hash[:HASH_PREFIX],
                "tasks": v.task_count,
                "runs": v.run_count,
            }
            for v in list_versions(session=session, dag_id=dag_id)
        ]
    emit(rows, output, VERSION_COLUMNS)


def _settings(dag: Dag, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "dag_id": dag.dag_id,
        "description": data.get("description"),
        "file": dag.fileloc,
        "owner": data.get("owner"),
        "tags": data.get("tags", []),
        "schedule": data.get("schedule_display"),
        "timezone": data.get("timezone"),
        "start_date": data.get("start_date"),
        "end_date": data.get("end_date"),
        "catchup": data.get("catchup"),
        "max_active_runs": data.get("max_active_runs"),
        "max_active_tasks": data.get("max_active_tasks"),
        "params": sorted(data.get("params", {})),
        "paused": dag.is_paused,
        "active": dag.is_active,
        "last_parsed_at": dag.last_parsed_at,
    }


def _task_rows(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tasks in DAG order (upstream first, ties in the file's order)."""
    from engine.authoring.serialization import dag_order

    by_id = {task["task_id"]: task for task in tasks}
    order = dag_order({task_id: task["upstream_task_ids"] for task_id, task in by_id.items()})
    return [_task_row(by_id[task_id]) for task_id in order]


def _task_row(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "task_id": task["task_id"],
        "operator": task["operator"],
        "upstream": list(task["upstream_task_ids"]),
        "trigger_rule": task["trigger_rule"],
        "retries": task["retries"],
        "priority": task["priority"],
        "pool": task["pool"],
    }


# -- validate and reparse -----------------------------------------------------------------


@group.command("validate")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@output_option
@click.option("--tracebacks", is_flag=True, help="Also print each error's traceback.")
def validate(path: Path | None, output: str, tracebacks: bool) -> None:
    """Parse PATH (a file or a folder; default core.dags_folder) and report every problem.

    Needs no database. Exits 1 when any file has a problem; warnings (such as a shell
    command that interpolates conf without ``| sh``) are printed and do not fail.
    """
    from engine.parser.shell_safety import shell_injection_warnings

    results = _parse_for_validation(path)
    problems = [
        {"file": str(result.path), "message": error.message, "traceback": error.traceback}
        for result in results
        for error in result.errors
    ]
    warnings = [
        {"file": str(result.path), "dag_id": str(data["dag_id"]), "message": message}
        for result in results
        for data in result.dags
        for message in shell_injection_warnings(data)
    ]
    dag_ids = sorted(dag_id for result in results for dag_id in result.dag_ids)
    if output == "json":
        document = {"files": len(results), "dags": dag_ids, "problems": problems}
        emit({**document, "warnings": warnings}, output)
    else:
        _print_problems(problems, tracebacks)
        for warning in warnings:
            click.echo(
                f"warning: {warning['file']}: DAG {warning['dag_id']!r}: {warning['message']}"
            )
    summary = f"{len(results)} files, {len(dag_ids)} DAGs"
    if problems:
        count = sum(len(e.message.splitlines()) for result in results for e in result.errors)
        raise click.ClickException(f"{summary}, {count} problem(s)")
    if output != "json":
        click.echo(f"{summary}, no problems")


def _parse_for_validation(path: Path | None) -> list[FileParseResult]:
    from engine.parser.dagbag import parse_folder
    from engine.parser.options import ParseOptions
    from engine.parser.processor import parse_file

    options = ParseOptions.from_settings(loom_context().settings)
    dags_folder = options.dags_folder
    target = (path or dags_folder).resolve()
    if not target.exists():
        raise click.ClickException(f"no such file or folder: {target}")
    if target.is_file():
        folder = dags_folder if target.is_relative_to(dags_folder) else target.parent
        return [parse_file(target, replace(options, dags_folder=folder))]
    return parse_folder(replace(options, dags_folder=target))


def _print_problems(problems: list[dict[str, Any]], tracebacks: bool) -> None:
    for problem in problems:
        click.echo(problem["message"])
        if tracebacks and problem["traceback"]:
            click.echo("    " + problem["traceback"].rstrip().replace("\n", "\n    "))


@group.command("reparse")
@click.option("--force", is_flag=True, help="Parse every file, changed or not.")
@output_option
def reparse(force: bool, output: str) -> None:
    """Bring the database up to date with the DAG folder (only changed files are parsed)."""
    from engine.parser.options import ParseOptions
    from engine.parser.sync import refresh_dags, take_parse_lock
    from engine.timeutil import utcnow

    options = ParseOptions.from_settings(loom_context().settings)
    with _session() as session:
        take_parse_lock(session=session, wait=True)  # after a scheduler's pass, not beside it
        report = refresh_dags(session=session, options=options, now=utcnow(), force=force)
    _print_report(report, output)


def _print_report(report: RefreshReport, output: str) -> None:
    if output == "json":
        emit(vars(report), output)
        return
    click.echo(
        f"{report.files} files: {len(report.parsed)} parsed, {report.unchanged} unchanged,"
        f" {len(report.deleted)} deleted ({human_duration(report.duration)})"
    )
    for label, dag_ids in (
        ("added", report.dags_added),
        ("updated", report.dags_updated),
        ("deactivated", report.dags_deactivated),
    ):
        if dag_ids:
            click.echo(f"{label}: {', '.join(dag_ids)}")
    for messages in report.import_errors.values():
        for message in messages:
            click.echo(f"import error: {message}", err=True)


# -- pause and unpause --------------------------------------------------------------------


@group.command("pause")
@click.argument("dag_id")
def pause(dag_id: str) -> None:
    """Pause a DAG: no new scheduled runs are created for it."""
    _set_paused(dag_id, True)


@group.command("unpause")
@click.argument("dag_id")
def unpause(dag_id: str) -> None:
    """Unpause a DAG: its schedule resumes."""
    _set_paused(dag_id, False)


def _set_paused(dag_id: str, is_paused: bool) -> None:
    from engine.services.dags import set_dag_paused

    with _session() as session:
        set_dag_paused(session=session, dag_id=dag_id, is_paused=is_paused)
    click.echo(f"DAG {dag_id} is {'paused' if is_paused else 'unpaused'}")
