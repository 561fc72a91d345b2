"""``loom scheduler`` (the scheduler process) and ``loom dags trigger`` (a manual run)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from engine.cli.common import (
    describe_error,
    loom_context,
    parse_conf,
    parse_logical_date,
    shown_time,
)
from engine.errors import InvalidInputError, LoomError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@click.command("scheduler")
def command() -> None:
    """Run the scheduler until SIGTERM or SIGINT.

    Creates due runs, queues ready task instances in priority order and hands them to
    the executor of ``executor.kind``. Also runs the outbox relay that publishes dead
    letters to RabbitMQ (safe beside other schedulers' relays: rows are claimed with a
    lease).
    """
    from engine.cli.process import stop_on_signals
    from engine.runtime.endpoints import scheduler_metrics
    from engine.runtime.processes import build_scheduler_process
    from engine.runtime.processlog import configure_logging

    ctx = loom_context()
    settings = ctx.settings
    configure_logging(settings.logging)
    process = build_scheduler_process(settings, ctx.session_factory)
    with scheduler_metrics(settings, ctx.session_factory):
        process.run(stop_on_signals())


@click.command("trigger")
@click.argument("dag_id")
@click.option("--conf", help="Run configuration as a JSON object (checked against params).")
@click.option("--run-id", help="Id of the new run; default manual__<logical date>.")
@click.option("--logical-date", help="Logical date of the run (ISO 8601); default: now.")
@click.option("--at", "at", help="Start the run at this time (ISO 8601), not at once.")
@click.option("--delay", help="Start the run after this duration (30s, 5m, 1h30m, PT5M).")
@click.option(
    "--force",
    is_flag=True,
    help="Trigger even though the DAG's file does not import now (its tasks wait for a fix).",
)
def trigger_command(
    dag_id: str,
    conf: str | None,
    run_id: str | None,
    logical_date: str | None,
    at: str | None,
    delay: str | None,
    force: bool,
) -> None:
    """Create a manual run of DAG_ID; the scheduler starts it when it is due.

    A DAG whose file does not import now is refused, naming the import error, unless
    --force."""
    from engine.services.runs import trigger_dag
    from engine.timeutil import utcnow

    try:
        now = utcnow()
        run_conf, when = parse_conf(conf), parse_logical_date(logical_date)
        run_after = _run_after(at, delay, now=now)
        with loom_context().session() as session:
            run = trigger_dag(
                session=session,
                dag_id=dag_id,
                conf=run_conf,
                run_id=run_id,
                logical_date=when,
                run_after=run_after,
                now=now,
                triggered_by="cli",
                refuse_broken=not force,
            )
            run_id, starts = run.run_id, run.run_after
            paused = _is_paused(session, dag_id)
    except LoomError as exc:
        raise click.ClickException(describe_error(exc)) from exc
    click.echo(f"Created run {run_id} of {dag_id}, due at {shown_time(starts)}")
    if paused:
        click.echo(f"{dag_id} is paused: the run waits until `loom dags unpause {dag_id}`")


def _is_paused(session: Session, dag_id: str) -> bool:
    from engine.models import Dag

    dag = session.get(Dag, dag_id)
    return dag is not None and dag.is_paused


def _run_after(at: str | None, delay: str | None, *, now: datetime) -> datetime:
    if at is not None and delay is not None:
        raise InvalidInputError("give --at or --delay, not both")
    from engine.durations import parse_duration

    if delay is not None:
        return now + parse_duration(delay)
    when = parse_logical_date(at, option="--at")
    return when if when is not None else now
