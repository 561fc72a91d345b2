"""``loom standalone``: the whole of Loom in one process, on the embedded defaults."""

from __future__ import annotations

import click

from engine.cli.common import loom_context
from engine.cli.process import stop_on_signals


@click.command("standalone")
def command() -> None:
    """Migrate, then run the scheduler, local workers and outbox relay until Ctrl-C."""
    from engine.runtime.processlog import configure_logging
    from engine.runtime.standalone import build_standalone

    settings = loom_context().settings
    configure_logging(settings.logging)
    standalone = build_standalone(settings)
    click.echo("Loom standalone")
    for line in standalone.describe():
        click.echo(f"  {line}")
    click.echo("Press Ctrl-C to stop.")
    standalone.run(stop_on_signals())
