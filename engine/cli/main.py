"""The ``loom`` group and its error handling: a Loom error is a message and exit code 1."""

from __future__ import annotations

import gc
import logging
import sys
from typing import Any

import click

from engine.cli.common import LoomContext, describe_error
from engine.cli.registry import LazyGroup
from engine.errors import LoomError
from engine.logformat import UtcFormatter


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("loom-engine")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


class LoomGroup(LazyGroup):
    """The ``loom`` group: its commands are the rows of :mod:`engine.cli.registry`, loaded
    when first asked for, and Loom's own errors become a one-line message and exit
    status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LoomError as exc:
            raise click.ClickException(describe_error(exc)) from exc


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # A callback, not click.version_option(_version()): every command would pay for
    # reading the package metadata at import time.
    if value and not ctx.resilient_parsing:
        click.echo(f"loom, version {_version()}")
        ctx.exit()


@click.group(cls=LoomGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Loom: an Airflow-style workflow engine."""
    handler = logging.StreamHandler()
    handler.setFormatter(UtcFormatter())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, handlers=[handler])
    if not isinstance(ctx.obj, LoomContext):  # main() passes one; a test runner may not
        ctx.obj = LoomContext()
    ctx.obj.command = ctx.invoked_subcommand
    ctx.call_on_close(ctx.obj.close)


PROCESS_COMMANDS = frozenset(
    {"scheduler", "worker", "triggerer", "webserver", "notifier", "standalone"}
)
"""The long-running processes: they end as Python ends any program."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``loom`` console script."""
    context = LoomContext()
    try:
        sys.exit(cli.main(args=argv, prog_name="loom", obj=context))
    finally:
        if context.command not in PROCESS_COMMANDS:
            # A command's process ends now, its database closed with the command (the
            # group's close). The interpreter's last full collection would walk every
            # object the imports made (a fifth of a short command's CPU) to free memory
            # the exit returns anyway, so it finds them frozen.
            gc.freeze()
