"""``loom triggerer``: the process that runs deferred tasks' triggers."""

from __future__ import annotations

import click

from engine.cli.common import loom_context
from engine.cli.process import stop_on_signals


@click.command("triggerer")
@click.option(
    "--capacity", type=click.IntRange(min=1), help="Most triggers at once (triggerer.capacity)."
)
def command(capacity: int | None) -> None:
    """Run deferred tasks' triggers until SIGTERM or SIGINT.

    Claims triggers no triggerer runs (or whose triggerer stopped heartbeating), runs
    them all in one asyncio loop, and when one fires, sends its task back to the
    scheduler to resume on a worker. Several triggerers may run side by side.
    """
    from engine.runtime.endpoints import triggerer_metrics
    from engine.runtime.processes import build_triggerer
    from engine.runtime.processlog import configure_logging

    ctx = loom_context()
    settings = ctx.settings
    if capacity is not None:
        settings = settings.model_copy(
            update={"triggerer": settings.triggerer.model_copy(update={"capacity": capacity})}
        )
    configure_logging(settings.logging)
    triggerer = build_triggerer(settings, ctx.session_factory)
    with triggerer_metrics(settings):
        triggerer.run(stop_on_signals())
