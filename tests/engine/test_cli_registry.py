"""The ``loom`` command table: every row loads its command, its help matches the command's,
and listing the commands imports none of them."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from engine.cli.registry import COMMANDS, Registration, plugged_in, registrations_under


@pytest.mark.parametrize("place", sorted(COMMANDS))
def test_each_row_loads_its_command_with_the_help_it_lists(place: str) -> None:
    row = COMMANDS[place]
    command = row.load()
    assert command.name == place.rsplit(" ", 1)[-1]
    assert row.help is not None
    listed = click.Command(command.name, help=row.help)
    for limit in (30, 45, 64, 100):
        assert listed.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_other_packages_plug_in_worker_and_webserver() -> None:
    assert {"worker", "webserver"} <= set(plugged_in())
    assert {"worker", "webserver", "dags", "scheduler"} <= set(registrations_under(""))
    assert set(registrations_under("dags")) == {"backfill", "test", "trigger"}


def test_a_row_that_is_not_a_command_is_refused() -> None:
    with pytest.raises(TypeError, match="not a click command"):
        Registration("engine.cli.registry:COMMANDS").load()


def test_listing_the_commands_imports_none_of_them() -> None:
    script = (
        "import sys\n"
        "from engine.cli import cli\n"
        "cli.main(['--help'], prog_name='loom', standalone_mode=False)\n"
        "heavy = [m for m in sys.modules if m.endswith('_cmd') or m.startswith('sqlalchemy')]\n"
        "print('imported:', heavy, file=sys.stderr)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "dags " in result.stdout
    assert "worker " in result.stdout
