"""``loom standalone`` in a terminal: Ctrl-C, the port, what it prints and logs.

Each test starts the real command as a subprocess (SQLite in a temporary LOOM_HOME, a
free port) and sends it real SIGINTs, as a user's Ctrl-C would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.scheduling.orphans import INTERRUPTED_ERROR
from tests.support.network import answers, free_port
from tests.support.processes import LOOM, Processes, loom_cli, outside_environ, wait_until

pytestmark = [pytest.mark.slow]

SLEEPERS = """
from datetime import datetime, timedelta
from engine import DAG, BashOperator

with DAG("sleepers", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    BashOperator(
        task_id="retried", bash_command="echo $$ > {pids}/retried; sleep 300",
        retries=1, retry_delay=timedelta(hours=1),
    )
    BashOperator(task_id="final", bash_command="echo $$ > {pids}/final; sleep 300")
"""

GATED = """
import os, time
from datetime import datetime
from engine import DAG, PythonOperator

def wait_at_gate():
    open({started!r}, "w").close()
    while not os.path.exists({gate!r}):
        time.sleep(0.05)

with DAG("gated", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    PythonOperator(task_id="wait", python_callable=wait_at_gate)
"""

BROKEN = "from engine import DAG\n\nx = undefined_name  # a DAG file that fails\n"

STOP_SECONDS = 15
"""How long a stopped standalone may take to exit."""


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    except BaseException:
        procs.dump_logs()
        raise
    finally:
        procs.stop_all()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    dags = tmp_path / "dags"
    dags.mkdir()
    return {
        **outside_environ(),
        "LOOM_HOME": str(tmp_path / "home"),
        "LOOM__CORE__DAGS_FOLDER": str(dags),
        "LOOM__SCHEDULER__TICK_INTERVAL": "0.2s",
        "LOOM__SCHEDULER__PARSE_INTERVAL": "0.2s",
        "PYTHONUNBUFFERED": "1",
    }


def start(
    processes: Processes, env: dict[str, str], *args: str
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = processes.start([LOOM, "standalone", "--port", str(port), *args], env, name="standalone")
    health = f"http://127.0.0.1:{port}/api/v2/monitor/health"
    wait_until(lambda: answers(health) or proc.poll() is not None, 90, what="standalone's API")
    assert proc.poll() is None, "standalone exited while starting"
    return proc, port


def output(tmp_path: Path, stream: str = "out") -> str:
    return (tmp_path / f"standalone.{stream}").read_text()


def rows(home: Path, sql: str) -> list[sa.Row[object]]:
    engine = sa.create_engine(f"sqlite:///{home / 'loom.db'}", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql)))


def trigger(env: dict[str, str], dag_id: str) -> None:
    home = Path(env["LOOM_HOME"])
    wait_until(lambda: rows(home, f"SELECT 1 FROM dag WHERE dag_id = '{dag_id}'"), 60)
    triggered = loom_cli(env, "dags", "trigger", dag_id, "--run-id", "r1")
    assert triggered.returncode == 0, triggered.stderr


def interrupt(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGINT)


def ended(pid: int) -> Callable[[], bool]:
    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    return gone


def test_a_second_ctrl_c_stops_running_tasks_and_records_their_tries(
    processes: Processes, env: dict[str, str], tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    (Path(env["LOOM__CORE__DAGS_FOLDER"]) / "sleepers.py").write_text(SLEEPERS.format(pids=pids))
    proc, _ = start(processes, env)
    trigger(env, "sleepers")
    wait_until(lambda: len(list(pids.iterdir())) == 2, 60, what="both tasks running")

    interrupt(proc)
    waiting = wait_until(lambda: "waiting for" in output(tmp_path) and output(tmp_path), 10)
    line = next(x for x in waiting.splitlines() if x.startswith("waiting for"))
    head, _, names = line.removesuffix(" (Ctrl-C again to stop them now)").partition(": ")
    assert head == "waiting for 2 running tasks"
    assert sorted(names.split(", ")) == ["sleepers.final", "sleepers.retried"]
    assert line.endswith(" (Ctrl-C again to stop them now)")
    time.sleep(1)
    assert proc.poll() is None, "the first Ctrl-C must wait for the running tasks"

    interrupt(proc)
    assert proc.wait(STOP_SECONDS) == 0
    printed = output(tmp_path)
    assert "stopped sleepers.retried (run r1) try 1: up for retry" in printed
    assert "stopped sleepers.final (run r1) try 1: failed" in printed
    assert printed.rstrip().endswith("Loom standalone stopped.")

    home = Path(env["LOOM_HOME"])
    states = {r.task_id: r.state for r in rows(home, "SELECT task_id, state FROM task_instance")}
    assert states == {"retried": "up_for_retry", "final": "failed"}
    attempts = rows(home, "SELECT error_type, error_message FROM task_attempt")
    assert {a.error_type for a in attempts} == {INTERRUPTED_ERROR}
    assert all("second Ctrl-C" in a.error_message for a in attempts)
    # The tasks' shell commands ran in process groups of their own: they are gone too.
    for task in ("retried", "final"):
        shell = int((pids / task).read_text())
        wait_until(ended(shell), 5, what=f"{task}'s shell to end")


def test_the_first_ctrl_c_lets_a_running_task_finish_then_exits(
    processes: Processes, env: dict[str, str], tmp_path: Path
) -> None:
    started, gate = tmp_path / "started", tmp_path / "gate"
    (Path(env["LOOM__CORE__DAGS_FOLDER"]) / "gated.py").write_text(
        GATED.format(started=str(started), gate=str(gate))
    )
    proc, _ = start(processes, env)
    trigger(env, "gated")
    wait_until(started.exists, 60, what="the task to start")

    interrupt(proc)
    wait_until(
        lambda: (
            "waiting for 1 running task: gated.wait (Ctrl-C again to stop it now)"
            in output(tmp_path)
        ),
        10,
    )
    time.sleep(1)
    assert proc.poll() is None
    gate.touch()
    assert proc.wait(STOP_SECONDS) == 0
    [(state,)] = rows(Path(env["LOOM_HOME"]), "SELECT state FROM task_instance")
    assert state == "success"


def test_idle_standalone_is_quiet_exits_on_one_ctrl_c_and_owns_its_port(
    processes: Processes, env: dict[str, str], tmp_path: Path
) -> None:
    dags = Path(env["LOOM__CORE__DAGS_FOLDER"])
    (dags / "broken.py").write_text(BROKEN)
    proc, port = start(processes, env)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/version", timeout=5) as reply:
        assert reply.status == 200
        assert reply.headers["Server"] == "Loom"  # waitress, not werkzeug's dev server
    time.sleep(2)  # ten parse intervals with nothing to parse

    # A second standalone on the same port says so before it prints or starts anything.
    home2 = tmp_path / "home2"
    second = loom_cli({**env, "LOOM_HOME": str(home2)}, "standalone", "--port", str(port))
    assert second.returncode != 0
    assert (
        f"port {port} is in use: another Loom? use --port or LOOM__WEBSERVER__PORT" in second.stderr
    )
    assert "Loom standalone" not in second.stdout
    assert not (home2 / "loom.db").exists()

    interrupt(proc)
    assert proc.wait(STOP_SECONDS) == 0
    assert "stopping: no task is running" in output(tmp_path)
    log = output(tmp_path, "err")
    refreshed = [line for line in log.splitlines() if " engine.parser.sync: refreshed " in line]
    assert len(refreshed) == 1, refreshed  # the first parse; the quiet ones are DEBUG
    assert refreshed[0].endswith("1 files, 1 parsed, 0 deleted, 1 import errors")
    assert f" WARNING engine.parser.sync: import error in {dags / 'broken.py'}" in log
    assert "GET /api/v2" not in log  # no access log unless asked for
    assert "werkzeug" not in log


def test_access_log_on_request_has_no_colour_codes(
    processes: Processes, env: dict[str, str], tmp_path: Path
) -> None:
    proc, port = start(processes, env, "--access-log", "--host", "127.0.0.1")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/version", timeout=5):
        pass
    wait_until(lambda: "GET /api/v2/version" in output(tmp_path, "err"), 10)
    [line] = [x for x in output(tmp_path, "err").splitlines() if "GET /api/v2/version" in x]
    assert ' webui.access: 127.0.0.1 "GET /api/v2/version HTTP/1.1" 200 ' in line
    assert "\x1b[" not in output(tmp_path, "err")
    interrupt(proc)
    assert proc.wait(STOP_SECONDS) == 0


def test_a_port_taken_by_something_else_is_refused_before_anything_starts(
    env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = loom_cli({**env, "LOOM__WEBSERVER__PORT": str(port)}, "standalone")
    assert result.returncode == 1
    assert f"port {port} is in use" in result.stderr
    assert result.stdout == ""
    assert not Path(env["LOOM_HOME"], "loom.db").exists()
