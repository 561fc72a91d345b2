"""The ``loom`` group and its error handling: a Loom error is a message and exit code 1."""

from __future__ import annotations

import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click

from engine.cli import config_cmd, dags_cmd, dagtest_cmd, db_cmd, users_cmd
from engine.cli.common import LoomContext
from engine.errors import LoomError


def _version() -> str:
    try:
        return version("loom-engine")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


class LoomGroup(click.Group):
    """A group that turns Loom's own errors into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LoomError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=LoomGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), prog_name="loom")
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Loom: an Airflow-style workflow engine."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = LoomContext()


dags_cmd.group.add_command(dagtest_cmd.command)
for _module in (config_cmd, dags_cmd, db_cmd, users_cmd):
    cli.add_command(_module.group)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``loom`` console script."""
    sys.exit(cli.main(args=argv, prog_name="loom"))
