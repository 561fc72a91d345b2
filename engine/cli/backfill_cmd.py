"""``loom dags backfill``: create the runs of past intervals; the scheduler runs them."""

from __future__ import annotations

import time

import click

from engine.cli.common import loom_context, parse_logical_date, shown_time
from engine.models import ReprocessBehavior
from engine.services import backfill
from engine.services.backfill import BackfillRequest
from engine.state import RUN_FINISHED, DagRunState
from engine.timeutil import utcnow

POLL_SECONDS = 1.0


@click.command("backfill")
@click.argument("dag_id")
@click.option("--start", "start_text", required=True, help="First logical date (ISO 8601).")
@click.option("--end", "end_text", required=True, help="Last logical date (ISO 8601).")
@click.option(
    "--reprocess-behavior",
    type=click.Choice([b.value for b in ReprocessBehavior]),
    default=ReprocessBehavior.NONE.value,
    show_default=True,
    help="Dates that have a finished run: leave them (none), re-run failed ones, or all.",
)
@click.option(
    "--max-active-runs", type=click.IntRange(min=1), default=10, show_default=True,
    help="Most runs of this backfill running at once (besides the DAG's own limit).",
)  # fmt: skip
@click.option("--run-backwards", is_flag=True, help="Run the latest logical dates first.")
@click.option(
    "--dry-run", is_flag=True, help="Print the logical dates it would run; change nothing."
)
@click.option("--no-wait", is_flag=True, help="Create the runs and return at once.")
def command(
    dag_id: str,
    start_text: str,
    end_text: str,
    reprocess_behavior: str,
    max_active_runs: int,
    run_backwards: bool,
    dry_run: bool,
    no_wait: bool,
) -> None:
    """Create a run for each interval of DAG_ID's schedule from --start to --end.

    The scheduler executes them like any other run, at most --max-active-runs at a time.
    Unless --no-wait, shows progress until they have all finished and exits 1 if any failed.
    """
    start = parse_logical_date(start_text, option="--start")
    end = parse_logical_date(end_text, option="--end")
    assert start is not None  # required options
    assert end is not None
    request = BackfillRequest(
        dag_id=dag_id,
        from_date=start,
        to_date=end,
        run_backwards=run_backwards,
        reprocess_behavior=ReprocessBehavior(reprocess_behavior),
        max_active_runs=max_active_runs,
    )
    ctx = loom_context()
    with ctx.session() as session:
        if dry_run:
            for logical_date in backfill.dry_run(session=session, request=request):
                click.echo(shown_time(logical_date))
            return
        report = backfill.create_backfill(session=session, request=request, now=utcnow())
    click.echo(
        f"backfill {report.backfill.id if report.backfill else '-'}: "
        f"created {len(report.created)} run(s), re-ran {len(report.rerun)}; "
        f"{len(report.existing)} interval(s) had a run already"
    )
    run_ids = report.created + report.rerun
    if no_wait or not run_ids:
        return
    if not _wait(dag_id, run_ids):
        click.get_current_context().exit(1)


def _wait(dag_id: str, run_ids: list[str]) -> bool:
    """Print progress until every run has finished; True when all succeeded."""
    last_line = ""
    while True:
        with loom_context().session() as session:
            states = backfill.run_states(session=session, dag_id=dag_id, run_ids=run_ids)
        done = sum(states[s] for s in RUN_FINISHED)
        line = f"{done}/{len(run_ids)} finished: " + ", ".join(
            f"{count} {state.value}" for state, count in sorted(states.items())
        )
        if line != last_line:
            click.echo(line)
            last_line = line
        if done == len(run_ids):
            return states[DagRunState.FAILED] == 0
        time.sleep(POLL_SECONDS)
