"""``loom notifier``: the process that sends e-mail and webhook alerts."""

from __future__ import annotations

import dataclasses

import click

from engine.cli.common import emit, loom_context, output_option
from engine.cli.process import stop_on_signals


@click.command("notifier")
@click.option("--once", is_flag=True, help="Run one pass, print what it did, and exit.")
@output_option
def command(once: bool, output: str) -> None:
    """Deliver alert events until SIGTERM or SIGINT.

    Fans each event out into deliveries (e-mail through ``smtp``, webhooks under
    ``webhooks``), sends them with retries and backoff, and records every outcome
    (``GET /api/v2/notifications``). Several notifiers may run side by side; each
    records its heartbeat, which the home page reads.
    """
    from engine.delivery.notifications import build_notifier
    from engine.runtime.endpoints import notifier_metrics
    from engine.runtime.heartbeat import run_notifier
    from engine.runtime.processlog import configure_logging

    ctx = loom_context()
    settings = ctx.settings
    notifier = build_notifier(settings, ctx.session_factory)
    if once:  # a one-off: the report is the output, warnings go to the CLI's stderr
        emit(dataclasses.asdict(notifier.run_once()), output)
        return
    configure_logging(settings.logging)
    with notifier_metrics(settings):
        run_notifier(
            notifier, stop_on_signals(), settings=settings, session_factory=ctx.session_factory
        )
