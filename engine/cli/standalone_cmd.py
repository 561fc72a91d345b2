"""``loom standalone``: the whole of Loom in one process, on the embedded defaults."""

from __future__ import annotations

import sys

import click

from engine.cli.common import loom_context
from engine.cli.process import interrupt_twice_on_signals


@click.command("standalone")
@click.option("--host", help="Address the web UI listens on (default: webserver.host).")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Web UI port (default: webserver.port)."
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="Log one line per web request (default: off, unless webserver.access_log is set).",
)
def command(host: str | None, port: int | None, access_log: bool | None) -> None:
    """Migrate, then run every Loom process and the web UI in one, until Ctrl-C.

    The scheduler, local workers, triggerer, notifier and outbox relay run on the embedded
    defaults. Ctrl-C once lets running tasks finish; twice stops them now (their tries
    fail, or wait for a retry if they have retries left)."""
    from engine.runtime.processlog import configure_logging
    from engine.runtime.standalone import build_standalone, check_port_free, with_web_address

    settings = with_web_address(
        loom_context().settings, host=host, port=port, access_log=access_log
    )
    check_port_free(settings.webserver.host, settings.webserver.port)
    configure_logging(settings.logging)
    standalone = build_standalone(settings)
    click.echo("Loom standalone")
    for line in standalone.describe():
        click.echo(f"  {line}")
    click.echo("Press Ctrl-C to stop.")
    sys.stdout.flush()
    standalone.run_interruptibly(interrupt_twice_on_signals(), click.echo)
    click.echo("Loom standalone stopped.")
