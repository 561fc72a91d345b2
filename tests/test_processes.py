"""The process helpers every test that starts Loom's processes relies on
(tests/support/processes.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from engine.runtime.proctree import kill_all
from engine.scheduling.orphans import pid_alive
from tests.support.processes import kill_tree, wait_until

SUPERVISOR = textwrap.dedent(
    """
    import os, sys, time

    def start():
        if os.fork() == 0:
            with open(sys.argv[1], "a") as started:
                started.write(f"{os.getpid()}\\n")
            time.sleep(600)
            os._exit(0)

    for _ in range(40):
        start()
    while True:  # a child that dies is replaced at once, as loom worker's supervisor does
        os.wait()
        start()
    """
)


def test_kill_tree_leaves_no_replacement_a_supervisor_started_while_dying(
    tmp_path: Path,
) -> None:
    started = tmp_path / "started"
    started.touch()
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISOR, str(started)])
    try:
        wait_until(lambda: len(started.read_text().split()) >= 40, 30, what="40 children")
        kill_tree(supervisor)
        supervisor.wait(timeout=10)
        pids = [int(line) for line in started.read_text().split()]
        wait_until(lambda: not any(pid_alive(pid) for pid in pids), 10, what="no child left")
    finally:
        supervisor.kill()
        kill_all([int(line) for line in started.read_text().split()])
