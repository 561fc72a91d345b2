"""``loom webserver``: the REST API served by gunicorn (plugged in as a ``loom.commands``
entry point, since engine/ may not import webui/)."""

from __future__ import annotations

import click

from engine.cli.common import loom_context


@click.command("webserver")
@click.option("--host", default=None, help="Address to listen on (default: webserver.host).")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Default: webserver.port."
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: webserver.workers).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Request threads per worker process (default: webserver.threads).",
)
def webserver_command(
    host: str | None, port: int | None, workers: int | None, threads: int | None
) -> None:
    """Serve the web UI and the REST API (/api/v2) with gunicorn; needs webserver.secret_key."""
    from webui.serve import run_gunicorn

    settings = loom_context().settings
    if threads is not None:
        web = settings.webserver.model_copy(update={"threads": threads})
        settings = settings.model_copy(update={"webserver": web})
    web = settings.webserver
    run_gunicorn(
        settings, host=host or web.host, port=port or web.port, workers=workers or web.workers
    )
