"""How a ``loom`` process ends: the command closes its database itself, since the console
script skips the interpreter's last garbage collection (which used to close it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.models import migrate


def _loom(home: Path, url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``loom argv`` in a process of its own, as the console script runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM")}
    env.update(LOOM_HOME=str(home), LOOM__DATABASE__URL=url)
    script = "import sys\nfrom engine.cli import main\nsys.argv[0] = 'loom'\nmain()"
    return subprocess.run(
        [sys.executable, "-c", script, *argv], env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("argv", "status"),
    [(("dags", "list"), 0), (("dags", "trigger", "missing"), 1)],
    ids=["success", "error"],
)
def test_a_command_closes_its_sqlite_database_before_the_process_ends(
    tmp_path: Path, argv: tuple[str, ...], status: int
) -> None:
    """The last connection to close checkpoints SQLite's write-ahead log and removes it; a
    connection left open at exit would leave ``loom.db-wal`` for the next process."""
    database = tmp_path / "loom.db"
    migrate.upgrade(f"sqlite:///{database}")
    for leftover in tmp_path.glob("loom.db-*"):
        leftover.unlink()
    done = _loom(tmp_path, f"sqlite:///{database}", *argv)
    assert done.returncode == status, done.stderr
    assert sorted(p.name for p in tmp_path.glob("loom.db*")) == ["loom.db"]


def test_the_processes_that_exit_as_before_are_loom_commands() -> None:
    """The long-running processes keep the interpreter's exit: each name is a command."""
    from engine.cli.main import PROCESS_COMMANDS
    from engine.cli.registry import registrations_under

    assert set(registrations_under("")) >= PROCESS_COMMANDS
