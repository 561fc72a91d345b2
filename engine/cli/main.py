"""The ``loom`` group and its error handling: a Loom error is a message and exit code 1."""

from __future__ import annotations

import logging
import sys
from importlib.metadata import PackageNotFoundError, entry_points, version
from typing import Any

import click

from engine.cli import (
    backfill_cmd,
    config_cmd,
    dags_cmd,
    dagtest_cmd,
    db_cmd,
    dlq_cmd,
    notifier_cmd,
    runs_cmd,
    scheduler_cmd,
    standalone_cmd,
    tasks_cmd,
    users_cmd,
)
from engine.cli.common import LoomContext, describe_error
from engine.errors import LoomError


def _version() -> str:
    try:
        return version("loom-engine")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


class LoomGroup(click.Group):
    """The ``loom`` group: Loom's own errors become a one-line message and exit status 1,
    and commands of packages that engine/ may not import (``loom worker`` from workers/)
    arrive as ``loom.commands`` entry points, loaded when first asked for."""

    _plugins_loaded = False

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for entry_point in entry_points(group="loom.commands"):
            if entry_point.name not in self.commands:
                self.add_command(entry_point.load(), entry_point.name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load_plugins()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugins()
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LoomError as exc:
            raise click.ClickException(describe_error(exc)) from exc


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
dags_cmd.group.add_command(scheduler_cmd.trigger_command)
dags_cmd.group.add_command(backfill_cmd.command)
for _group in (config_cmd, dags_cmd, db_cmd, dlq_cmd, runs_cmd, tasks_cmd, users_cmd):
    cli.add_command(_group.group)
for _command in (scheduler_cmd.command, standalone_cmd.command, notifier_cmd.command):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``loom`` console script."""
    sys.exit(cli.main(args=argv, prog_name="loom"))
