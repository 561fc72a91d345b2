"""``loom standalone`` in a thread of the test's process, and ``loom`` commands that
watch what it runs."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import load_settings
from engine.runtime.standalone import Standalone, build_standalone
from tests.support.cli import loom
from tests.support.network import free_port


def standalone_environment(monkeypatch: pytest.MonkeyPatch, dags: Path) -> None:
    """Settings for a standalone under test: ``dags`` as the DAG folder, a free port for its
    web server and a fast scheduler tick."""
    monkeypatch.setenv("LOOM__WEBSERVER__PORT", str(free_port()))
    monkeypatch.setenv("LOOM__CORE__DAGS_FOLDER", str(dags))
    monkeypatch.setenv("LOOM__SCHEDULER__TICK_INTERVAL", "0.2s")


@contextlib.contextmanager
def running_standalone() -> Iterator[Standalone]:
    """A standalone built from the environment's settings, running in a thread until the
    block ends."""
    pieces = build_standalone(load_settings())
    stop = threading.Event()
    thread = threading.Thread(target=pieces.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield pieces
    finally:
        stop.set()
        thread.join(timeout=30)


def run_state(run_id: str, dag_id: str = "pipeline") -> str:
    """The state of a DAG run, as ``loom runs show`` prints it."""
    result = loom("runs", "show", dag_id, run_id, "-o", "json")
    return str(json.loads(result.stdout)["state"])


def wait_for(run_id: str, states: set[str], dag_id: str = "pipeline", timeout: float = 60) -> str:
    """The state of a DAG run once it is one of ``states``; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = run_state(run_id, dag_id)
        if state in states:
            return state
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} still {run_state(run_id, dag_id)} after {timeout} s")
