"""Real ``loom`` processes for tests: started with logs in files, killed with their children.

Every process a test starts goes through :class:`Processes` and is killed (with
everything it spawned) when the test ends; its stdout and stderr go to files and are
printed when the test failed. Every wait is bounded (:func:`wait_until`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.runtime.proctree import descendants

REPO = Path(__file__).resolve().parents[2]
LOOM = str(REPO / ".venv" / "bin" / "loom")


def wait_until(
    predicate: Callable[[], Any], timeout: float, *, interval: float = 0.2, what: str = ""
) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``proc`` and every process it spawned (also in other process groups).

    The tree is stopped (SIGSTOP) from the root down before any of it is killed: a
    supervisor seeing its worker killed would start another, which a listing taken
    before would miss and nothing would kill. A ``proc`` already reaped is left alone: its
    pid may be another process's now, and its children are no longer its."""
    if proc.poll() is not None:
        return
    stopped = [proc.pid]
    _signal(proc.pid, signal.SIGSTOP)
    while new := [pid for pid in descendants(proc.pid) if pid not in stopped]:
        for pid in new:
            _signal(pid, signal.SIGSTOP)
        stopped.extend(new)
    for pid in stopped:
        _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


@dataclass
class Processes:
    """The processes one test started, with their log files."""

    tmp_path: Path
    started: list[tuple[str, subprocess.Popen[bytes], Path, Path]] = field(default_factory=list)
    orphans: list[int] = field(default_factory=list)

    def start(
        self, args: Sequence[str], env: Mapping[str, str], *, name: str | None = None
    ) -> subprocess.Popen[bytes]:
        name = name or f"{len(self.started)}-{Path(args[0]).name}-{'-'.join(args[1:2])}"
        out, err = self.tmp_path / f"{name}.out", self.tmp_path / f"{name}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(
                list(args),
                env=dict(env),
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                cwd=self.tmp_path,
                start_new_session=True,
            )
        self.started.append((name, proc, out, err))
        return proc

    def kill9(self, proc: subprocess.Popen[bytes]) -> None:
        """``kill -9`` the process alone (its children, if any, live on until teardown)."""
        self.orphans.extend(descendants(proc.pid))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop one process as an operator would (SIGTERM), waiting for it to exit."""
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_tree(proc)
            raise

    def stop_all(self) -> None:
        for _name, proc, _out, _err in self.started:
            kill_tree(proc)
        for pid in self.orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for _name, proc, _out, _err in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)

    def dump_logs(self) -> None:
        for name, _proc, out, err in self.started:
            for path in (out, err):
                text = path.read_text(errors="replace") if path.exists() else ""
                sys.stdout.write(f"\n===== {name} {path.suffix[1:]} (last 6000 chars) =====\n")
                sys.stdout.write(text[-6000:])


@contextlib.contextmanager
def processes_under(root: Path) -> Iterator[Processes]:
    """Processes logging under ``root``, all killed on the way out; their logs are printed
    when the block failed (a fixture's setup, say)."""
    processes = Processes(root)
    try:
        yield processes
    except BaseException:
        processes.dump_logs()
        raise
    finally:
        processes.stop_all()


def loom_cli(
    env: Mapping[str, str], *args: str, timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one ``loom`` command to completion (``stdin``: text fed to it)."""
    return subprocess.run(
        [LOOM, *args],
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def outside_environ() -> dict[str, str]:
    """This process's environment without any Loom or Prometheus setting of its own."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("LOOM", "PROMETHEUS"))}


def rq_deployment_env(
    *, home: Path, database_url: str, redis_url: str, dags_folder: Path, **settings: str
) -> dict[str, str]:
    """The environment of a test deployment's ``loom`` processes (RQ executor): this
    process's, without any Loom or Prometheus setting of its own, plus ``settings``."""
    env = outside_environ()
    env.update(
        LOOM_HOME=str(home),
        LOOM__DATABASE__URL=database_url,
        LOOM__EXECUTOR__KIND="rq",
        LOOM__REDIS__URL=redis_url,
        LOOM__CORE__DAGS_FOLDER=str(dags_folder),
        PYTHONUNBUFFERED="1",
        **settings,
    )
    return env
