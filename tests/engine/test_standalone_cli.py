"""The embedded path end to end: trigger from the CLI, run in standalone, inspect and act.

Real SQLite, the real scheduler, the local executor's worker processes and the outbox
relay, driven through the same commands an operator types.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import load_settings
from engine.runtime.standalone import ADMIN_PASSWORD_FILE
from tests.support.cli import loom
from tests.support.standalone import (
    run_state,
    running_standalone,
    standalone_environment,
    wait_for,
)

DAG_FILE = """
from datetime import datetime
from engine import DAG, BashOperator, PythonOperator

def shout():
    print("hello from the worker")
    return {"rows": 3}

with DAG("pipeline", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    hello = PythonOperator(task_id="hello", python_callable=shout)
    doomed = BashOperator(task_id="doomed", bash_command="echo about to fail; exit 7")
    hello >> doomed
"""

GATED_DAG_FILE = """
import os, time
from datetime import datetime
from engine import DAG, PythonOperator

def wait_at_gate():
    print("waiting at the gate", flush=True)
    while not os.path.exists(os.environ["LOOM_TEST_GATE"]):
        time.sleep(0.05)
    print("through the gate")

with DAG("gated", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    PythonOperator(task_id="wait", python_callable=wait_at_gate)
"""

DEFERRING_DAG_FILE = """
from datetime import datetime, timedelta
from engine import DAG, DateTimeSensor

with DAG("deferring", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    DateTimeSensor(
        task_id="soon", deferrable=True,
        target_time="{{ macros.datetime.utcnow() + macros.timedelta(seconds=1) }}",
    )
"""

LOOM_BIN = str(Path(sys.executable).parent / "loom")


@pytest.fixture
def standalone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "pipeline.py").write_text(DAG_FILE)
    (dags / "gated.py").write_text(GATED_DAG_FILE)
    (dags / "deferring.py").write_text(DEFERRING_DAG_FILE)
    monkeypatch.setenv("LOOM_TEST_GATE", str(tmp_path / "gate"))
    monkeypatch.setenv("LOOM__CORE__LOG_STREAM_INTERVAL", "0.2s")
    standalone_environment(monkeypatch, dags)
    with running_standalone():
        yield


@pytest.mark.slow
@pytest.mark.usefixtures("standalone")
def test_trigger_run_inspect_clear_and_mark() -> None:
    assert loom("dags", "reparse").exit_code == 0
    triggered = loom("dags", "trigger", "pipeline", "--run-id", "first")
    assert triggered.exit_code == 0, triggered.output
    assert wait_for("first", {"success", "failed"}) == "failed"

    shown = json.loads(loom("runs", "show", "pipeline", "first", "-o", "json").stdout)
    states = {t["task_id"]: t["state"] for t in shown["task_instances"]}
    assert states == {"hello": "success", "doomed": "failed"}

    hello_log = loom("tasks", "logs", "pipeline", "first", "hello")
    assert "hello from the worker" in hello_log.output
    doomed_log = loom("tasks", "logs", "pipeline", "first", "doomed", "--try", "1")
    assert "about to fail" in doomed_log.output

    dead = json.loads(loom("dlq", "list", "-o", "json").stdout)
    assert [(d["task_id"], d["state"]) for d in dead] == [("doomed", "pending")]

    listed = json.loads(loom("runs", "list", "pipeline", "-o", "json").stdout)
    assert [r["run_id"] for r in listed] == ["first"]

    cleared = loom("tasks", "clear", "pipeline", "first", "doomed")
    assert cleared.exit_code == 0, cleared.output
    assert "cleared 1 task(s): doomed" in cleared.output
    assert wait_for("first", {"failed"}) == "failed"
    tries = loom("tasks", "logs", "pipeline", "first", "doomed", "--try", "2")
    assert "about to fail" in tries.output  # the cleared task ran again, as try 2

    marked = loom("runs", "mark", "pipeline", "first", "success")
    assert marked.exit_code == 0, marked.output
    assert run_state("first") == "success"


STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
"""When a task's log line was written (UTC), at its start."""


@pytest.mark.slow
@pytest.mark.usefixtures("standalone")
def test_tasks_logs_follow_prints_a_running_try_live(tmp_path: Path) -> None:
    assert loom("dags", "reparse").exit_code == 0
    assert loom("dags", "trigger", "gated", "--run-id", "live").exit_code == 0
    lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen(
        [LOOM_BIN, "tasks", "logs", "gated", "live", "wait", "--follow"],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    ) as follower:
        stdout = follower.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                lines.put(line)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            first = lines.get(timeout=60)
            # Printed while the task still waits at its gate, so it was streamed, not read
            # at the finish.
            assert re.fullmatch(rf"{STAMP} waiting at the gate\n", first)
            assert run_state("live", "gated") == "running"
            (tmp_path / "gate").touch()
            assert follower.wait(timeout=60) == 0
        finally:
            follower.kill()
            reader.join(timeout=10)
    rest = "".join(lines.get_nowait() for _ in range(lines.qsize()))
    assert "through the gate\n" in rest
    assert rest.rstrip().endswith("Task success")
    assert wait_for("live", {"success", "failed"}, "gated") == "success"


@pytest.mark.usefixtures("standalone")
def test_standalone_serves_the_api_and_reports_its_scheduler_alive() -> None:
    base = f"http://127.0.0.1:{os.environ['LOOM__WEBSERVER__PORT']}/api/v2"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/monitor/health", timeout=5) as reply:
                health = json.load(reply)
            if health["scheduler"]["status"] == "healthy":
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "standalone's API never reported its scheduler"
        time.sleep(0.3)
    assert health["metadatabase"]["status"] == "healthy"
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(f"{base}/dags", timeout=5)
    assert anonymous.value.code == 401
    anonymous.value.close()

    # A fresh standalone has an admin whose password it keeps in LOOM_HOME.
    secret_file = Path(os.environ["LOOM_HOME"]) / ADMIN_PASSWORD_FILE
    assert secret_file.stat().st_mode & 0o777 == 0o600
    root = base.removesuffix("/api/v2")
    login = urllib.request.Request(
        f"{root}/auth/token",
        data=json.dumps(
            {"username": "admin", "password": secret_file.read_text().strip()}
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=5) as reply:
        assert reply.status == 201
        assert "access_token" in json.load(reply)


@pytest.mark.usefixtures("standalone")
def test_standalone_runs_a_triggerer_for_deferred_tasks() -> None:
    assert loom("dags", "reparse").exit_code == 0
    triggered = loom("dags", "trigger", "deferring", "--run-id", "d1")
    assert triggered.exit_code == 0, triggered.output
    assert wait_for("d1", {"success", "failed"}, "deferring") == "success"
    log = loom("tasks", "logs", "deferring", "d1", "soon").stdout
    assert "Task deferred" in log  # the try parked on its trigger, then resumed
    assert log.rstrip().endswith("Task success")


def test_unknown_ids_are_clear_errors(tmp_path: Path) -> None:
    assert loom("db", "upgrade").exit_code == 0
    for args, message in [
        (["runs", "list", "nope"], "no DAG 'nope'"),
        (["runs", "show", "nope", "r"], "no DAG 'nope'"),
        (["tasks", "logs", "nope", "r", "t"], "no DAG 'nope'"),
        (["runs", "mark", "nope", "r", "success"], "nope"),
    ]:
        result = loom(*args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output


DAILY_FILE = """
from datetime import datetime
from engine import DAG, CronDataIntervalTimetable, EmptyOperator

with DAG(
    "daily", schedule=CronDataIntervalTimetable("@daily"), start_date=datetime(2026, 1, 1)
) as dag:
    EmptyOperator(task_id="only")
"""


@pytest.mark.slow
def test_backfill_creates_runs_the_scheduler_executes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "daily.py").write_text(DAILY_FILE)
    standalone_environment(monkeypatch, dags)
    with running_standalone():
        assert loom("dags", "reparse").exit_code == 0
        result = loom("dags", "backfill", "daily", "--start", "2026-02-01", "--end", "2026-02-03")
        assert result.exit_code == 0, result.output
        assert "created 3 run(s)" in result.output
        assert "3/3 finished: 3 success" in result.output
        again = loom(
            "dags", "backfill", "daily", "--start", "2026-02-01", "--end", "2026-02-04", "--no-wait"
        )
        assert "created 1 run(s), re-ran 0; 3 interval(s) had a run already" in again.output
    runs = json.loads(loom("runs", "list", "daily", "-o", "json").stdout)
    backfilled = sorted(r["run_id"] for r in runs if r["run_type"] == "backfill")
    assert backfilled[:3] == [
        "backfill__2026-02-01T00:00:00+00:00",
        "backfill__2026-02-02T00:00:00+00:00",
        "backfill__2026-02-03T00:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-02-05", "--end", "2026-02-01"], "--end is before --start"),
        (["--start", "someday", "--end", "2026-02-01"], "--start 'someday' is not an ISO date"),
    ],
)
def test_backfill_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "daily.py").write_text(DAILY_FILE)
    monkeypatch.setenv("LOOM__CORE__DAGS_FOLDER", str(dags))
    assert loom("db", "upgrade").exit_code == 0
    assert loom("dags", "reparse").exit_code == 0
    result = loom("dags", "backfill", "daily", *args)
    assert result.exit_code == 1
    assert message in result.output


def test_a_migration_that_fails_in_its_child_is_a_loom_error_naming_the_database(
    tmp_path: Path,
) -> None:
    from engine.errors import LoomError
    from engine.runtime.standalone import migrate_in_a_child

    (tmp_path / "loom.db").mkdir()  # a folder where the database file should be
    url = f"sqlite:///{tmp_path / 'loom.db'}"
    with pytest.raises(LoomError, match=rf"migrating the database {url} failed \(exit code 1\)"):
        migrate_in_a_child(url, load_settings().logging)


def test_standalone_parses_one_file_at_a_time_unless_parse_parallelism_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from engine.runtime.standalone import standalone_settings

    monkeypatch.delenv("LOOM__CORE__PARSE_PARALLELISM", raising=False)
    assert standalone_settings(load_settings()).core.parse_parallelism == 1
    monkeypatch.setenv("LOOM__CORE__PARSE_PARALLELISM", "3")
    assert standalone_settings(load_settings()).core.parse_parallelism == 3
