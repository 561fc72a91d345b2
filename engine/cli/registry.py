"""Every ``loom`` command, registered once and imported only when it is used.

A row names a command by its place (``"dags trigger"`` is ``loom dags trigger``), the
``module:attribute`` that defines it and its first help paragraph, so that ``loom --help``
lists every command without importing one, and ``loom dags list`` imports the dags
commands alone. Packages that engine/ may not import (workers/, webui/) add rows the same
way through ``loom.commands`` entry points (name: the place, value: ``module:attribute``);
the help of such a row is read from its command, which loads its module.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import click

ENTRY_POINT_GROUP = "loom.commands"
"""Entry point group through which other packages add commands."""


@dataclass(frozen=True)
class Registration:
    """Where a command is defined, and what ``--help`` of its group says about it."""

    target: str
    """``module:attribute`` of the :class:`click.Command`."""
    help: str | None = None
    """The first paragraph of the command's help; None: ask the command itself."""

    def load(self) -> click.Command:
        module, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


COMMANDS: Mapping[str, Registration] = {
    "assets": Registration("engine.cli.assets_cmd:group", "List assets and their events."),
    "config": Registration(
        "engine.cli.config_cmd:group",
        "Inspect Loom's configuration (loom.yaml and LOOM__* variables).",
    ),
    "connections": Registration(
        "engine.cli.connections_cmd:group",
        "Add, get, list, delete, import and export connections.",
    ),
    "dags": Registration(
        "engine.cli.dags_cmd:group",
        "List, show, validate and reparse DAGs; pause and unpause them.",
    ),
    "dags backfill": Registration(
        "engine.cli.backfill_cmd:command",
        "Create a run for each interval of DAG_ID's schedule from --start to --end.",
    ),
    "dags test": Registration(
        "engine.cli.dagtest_cmd:command",
        "Run one DAG run in this process and print each task's final state.",
    ),
    "dags trigger": Registration(
        "engine.cli.scheduler_cmd:trigger_command",
        "Create a manual run of DAG_ID; the scheduler starts it when it is due.",
    ),
    "db": Registration(
        "engine.cli.db_cmd:group", "Create, upgrade, check and clean the metadata database."
    ),
    "dlq": Registration(
        "engine.cli.dlq_cmd:group", "Dead letters: task instances that failed for good."
    ),
    "notifications": Registration(
        "engine.cli.notifications_cmd:group",
        "Alert deliveries: send one the notifier gave up on again.",
    ),
    "notifier": Registration(
        "engine.cli.notifier_cmd:command", "Deliver alert events until SIGTERM or SIGINT."
    ),
    "rotate-fernet-key": Registration(
        "engine.cli.fernet_cmd:command",
        "Re-encrypt variables and connection secrets with the first key of core.fernet_key.",
    ),
    "roles": Registration(
        "engine.cli.roles_cmd:group",
        "List roles (manage them through the API: /api/v2/roles).",
    ),
    "runs": Registration("engine.cli.runs_cmd:group", "Dag runs: list, show, mark."),
    "scheduler": Registration(
        "engine.cli.scheduler_cmd:command", "Run the scheduler until SIGTERM or SIGINT."
    ),
    "standalone": Registration(
        "engine.cli.standalone_cmd:command",
        "Migrate, then run every Loom process and the web UI in one, until Ctrl-C.",
    ),
    "tasks": Registration("engine.cli.tasks_cmd:group", "Task instances: logs, clear."),
    "triggerer": Registration(
        "engine.cli.triggerer_cmd:command", "Run deferred tasks' triggers until SIGTERM or SIGINT."
    ),
    "users": Registration(
        "engine.cli.users_cmd:group", "Create, list and disable users; reset passwords."
    ),
    "variables": Registration(
        "engine.cli.variables_cmd:group",
        "Get, set, list, delete, import and export variables.",
    ),
}
"""Loom's own commands; a plugged-in command of the same place never replaces one."""


@functools.cache
def plugged_in() -> Mapping[str, Registration]:
    """The rows other packages add through ``loom.commands`` entry points."""
    from importlib.metadata import entry_points  # reading package metadata takes a while

    return {ep.name: Registration(ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP)}


def registration(place: str) -> Registration | None:
    """The row of the command at ``place``; entry points are read only when needed."""
    return COMMANDS.get(place) or plugged_in().get(place)


def registrations_under(place: str) -> dict[str, Registration]:
    """``{name: row}`` of the commands directly under ``place`` (``""``: ``loom``)."""
    rows = {**plugged_in(), **COMMANDS}
    prefix = f"{place} " if place else ""
    return {
        name.removeprefix(prefix): row
        for name, row in rows.items()
        if name.startswith(prefix) and " " not in name.removeprefix(prefix)
    }


class LazyGroup(click.Group):
    """A group whose registered subcommands are imported when first asked for.

    ``place`` is the group's own place in :data:`COMMANDS` (``""`` for ``loom``);
    commands added with :meth:`add_command` or decorators work as in any group.
    """

    def __init__(self, *args: Any, place: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.place = place

    def _child_place(self, name: str) -> str:
        return f"{self.place} {name}" if self.place else name

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *registrations_under(self.place)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            row = registration(self._child_place(cmd_name))
            if row is None:
                return None
            self.add_command(row.load(), cmd_name)
        return self.commands[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's listing, with the help of a command not yet loaded taken from its row."""
        shown = [
            (name, shorten)
            for name in self.list_commands(ctx)
            if (shorten := self._help_shortener(ctx, name)) is not None
        ]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        with formatter.section("Commands"):
            formatter.write_dl([(name, shorten(limit)) for name, shorten in shown])

    def _help_shortener(self, ctx: click.Context, name: str) -> Callable[[int], str] | None:
        """What shortens ``name``'s help to a width; None for a hidden or unknown command."""
        row = None if name in self.commands else registration(self._child_place(name))
        if row is not None and row.help is not None:
            # Shortened as click shortens a loaded command's help, without loading it.
            return click.Command(name, help=row.help).get_short_help_str
        command = self.get_command(ctx, name)
        if command is None or command.hidden:
            return None
        return command.get_short_help_str
