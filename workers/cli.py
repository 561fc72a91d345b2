"""``loom worker``: run RQ workers on Loom's queues (``executor.kind: rq``)."""

from __future__ import annotations

import click

from engine.cli.common import loom_context
from engine.executors.base import LOOM_ENTRY_POINTS


@click.command("worker")
@click.option(
    "--queues",
    "-q",
    multiple=True,
    metavar="NAMES",
    help="Queues to listen to, most urgent first, comma-separated or repeated "
    "(high, default, low or loom.high, ...). Default: loom.high,loom.default,loom.low.",
)
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes to run (each runs one job at a time).",
)
@click.option(
    "--fork/--no-fork",
    default=True,
    show_default=True,
    help="Run each job in a forked process (isolated) or in the worker itself (faster).",
)
@click.option(
    "--dequeue-strategy",
    type=click.Choice(["default", "round_robin"]),
    default="default",
    show_default=True,
    help="default: strict priority by queue order; round_robin: rotate after each job.",
)
@click.option(
    "--entry-point",
    "entry_points",
    multiple=True,
    metavar="DOTTED.NAME",
    help="Also run jobs that call this function (repeatable; tests, custom runners). "
    f"Jobs calling anything else than {', '.join(sorted(LOOM_ENTRY_POINTS))} or these fail unrun.",
)
def command(
    queues: tuple[str, ...],
    burst: bool,
    concurrency: int,
    fork: bool,
    dequeue_strategy: str,
    entry_points: tuple[str, ...],
) -> None:
    """Run RQ workers that execute task instances from Redis (redis.url)."""
    # The one place engine/ reaches into workers/: this command *is* the worker process.
    from engine.runtime.endpoints import serve_worker_metrics
    from engine.runtime.processlog import configure_logging
    from workers.rq_worker import WorkerOptions, parse_queues, run_workers

    try:
        names = parse_queues(queues)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--queues") from exc
    settings = loom_context().settings
    options = WorkerOptions(
        redis_url=settings.redis.url,
        queues=names,
        burst=burst,
        fork=fork,
        dequeue_strategy="round_robin" if dequeue_strategy == "round_robin" else "default",
        logging=settings.logging,
        entry_points=LOOM_ENTRY_POINTS | set(entry_points),
        max_tries_per_child=settings.worker.max_tries_per_child,
    )
    configure_logging(settings.logging)
    serve_worker_metrics(settings)  # before any job runs, so that every job is counted
    status = run_workers(options, concurrency)
    if status:
        raise SystemExit(status)
