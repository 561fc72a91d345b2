"""What the benchmarks share: a throw-away PostgreSQL database, a flushed Redis database,
Loom settings pointing at both, worker subprocesses, and waiting for a run to finish.

Every resource is a context manager that cleans up on the way out, error or not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from engine.timeutil import utcnow as utcnow  # re-exported for the benchmarks
from tests.support.services import flushed_redis

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOOM = str(Path(PYTHON).with_name("loom"))
POSTGRES_ADMIN_URL = os.environ.get(
    "LOOM_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("LOOM_BENCH_REDIS", "redis://127.0.0.1:6379/12")


def emit(figures: dict[str, Any]) -> dict[str, Any]:
    """Print one benchmark's figures as one JSON line."""
    print(json.dumps(figures), flush=True)
    return figures


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- services ----------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_database(*, migrate: bool = True) -> Iterator[str]:
    """A fresh database ``loom_bench_<pid>`` (migrated and seeded), dropped at the end."""
    name = f"loom_bench_{os.getpid()}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        if migrate:
            from engine.models.migrate import upgrade_and_seed

            upgrade_and_seed(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def redis_database(url: str = REDIS_URL) -> contextlib.AbstractContextManager[Redis]:
    """The dedicated Redis database, flushed before and after."""
    return flushed_redis(url)


def loom_environ(
    *, database_url: str, dags_folder: Path, home: Path, **overrides: str
) -> dict[str, str]:
    """``os.environ`` minus any LOOM settings, plus the benchmark's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM")}
    env.update(
        {
            "LOOM_HOME": str(home),
            "LOOM__DATABASE__URL": database_url,
            "LOOM__CORE__DAGS_FOLDER": str(dags_folder),
            "LOOM__EXECUTOR__KIND": "rq",
            "LOOM__REDIS__URL": REDIS_URL,
            "LOOM__LOGGING__LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
        }
    )
    env.update(overrides)
    return env


@contextlib.contextmanager
def applied_environ(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` as this process's environment inside the block."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- processes ---------------------------------------------------------------------------


@contextlib.contextmanager
def processes(
    commands: list[list[str]], *, env: Mapping[str, str], log_dir: Path
) -> Iterator[list[Any]]:
    """Start ``commands`` (each in its own process group, output to ``log_dir``); kill the
    groups at the end."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for number, command in enumerate(commands):
            with open(log_dir / f"proc-{number}.log", "wb") as log:
                started.append(
                    subprocess.Popen(
                        command,
                        env=dict(env),
                        cwd=REPO,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        yield started
    finally:
        stop_processes(started)


def stop_processes(started: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    """SIGTERM each process group, then SIGKILL what is left after ``timeout``."""
    for proc in started:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in started:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stray work horses of the group


def wait_for_rq_workers(connection: Redis, count: int, timeout: float = 60.0) -> None:
    """Block until ``count`` RQ workers have registered in Redis."""
    from rq import Worker

    deadline = time.monotonic() + timeout
    while len(Worker.all(connection=connection)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} RQ workers did not register within {timeout}s")
        time.sleep(0.05)


# --- Loom in the bench process -----------------------------------------------------------


def write_dag(folder: Path, name: str, source: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(source)
    return path


def parse_into(session_factory: sessionmaker[Session], dags_folder: Path) -> None:
    """Parse the DAG folder into the database once, as the scheduler would."""
    from engine.parser import ParseOptions, refresh_dags

    options = ParseOptions(dags_folder, timeout=60, parallelism=os.cpu_count() or 2)
    with session_factory.begin() as session:
        refresh_dags(session=session, options=options, now=utcnow())


class SchedulerThread:
    """A Scheduler ticking every ``tick_interval`` in a thread of the bench process."""

    def __init__(self, scheduler: Any, settings: Any) -> None:
        self._scheduler = scheduler
        self._settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=scheduler.run, args=(self._stop,), daemon=True)

    def __enter__(self) -> SchedulerThread:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def wait_for_run(
    session_factory: sessionmaker[Session], run_pk: int, timeout: float, poll: float = 0.005
) -> tuple[str, float]:
    """Poll the run's state until it is final; returns (state, perf_counter at that moment)."""
    from engine.models import DagRun

    deadline = time.monotonic() + timeout
    while True:
        with session_factory() as session:
            state = session.scalar(sa.select(DagRun.state).where(DagRun.id == run_pk))
        value = str(getattr(state, "value", state))
        if value in {"success", "failed"}:
            return value, time.perf_counter()
        if time.monotonic() > deadline:
            raise TimeoutError(f"dag run {run_pk} still {value} after {timeout}s")
        time.sleep(poll)


def task_times(session_factory: sessionmaker[Session], run_pk: int) -> list[tuple[Any, ...]]:
    """(task_id, state, queued_at, start_date, end_date) of every TI of the run."""
    from engine.models import TaskInstance

    with session_factory() as session:
        return [
            tuple(row)
            for row in session.execute(
                sa.select(
                    TaskInstance.task_id,
                    TaskInstance.state,
                    TaskInstance.queued_at,
                    TaskInstance.start_date,
                    TaskInstance.end_date,
                ).where(TaskInstance.dag_run_id == run_pk)
            )
        ]


@dataclasses.dataclass(frozen=True)
class LoomSite:
    """One benchmark's Loom: its PostgreSQL database and Redis, and a temporary folder with
    ``dags/``, ``home/`` and ``logs/`` (subprocess output) in it."""

    url: str
    redis: Redis
    root: Path
    dags: Path
    logs: Path
    env: dict[str, str]
    """The environment of a ``loom`` subprocess (:func:`loom_environ`)."""
    engine: sa.Engine
    """The database's engine (a benchmark's statement counter listens on it)."""
    sessions: sessionmaker[Session]


@contextlib.contextmanager
def loom_site(
    prefix: str, dag_files: Mapping[str, str], settings_env: Mapping[str, str] | None = None
) -> Iterator[LoomSite]:
    """A fresh database and Redis, ``dag_files`` (name: source) written and parsed into the
    database, settings ``settings_env`` on top of the benchmark's; all dropped at the end."""
    from engine.models.session import create_db_engine, make_session_factory

    with (
        postgres_database() as url,
        redis_database() as connection,
        temp_dir(prefix) as tmp,
    ):
        dags, home, logs = tmp / "dags", tmp / "home", tmp / "logs"
        for folder in (dags, home, logs):
            folder.mkdir()
        for name, source in dag_files.items():
            write_dag(dags, name, source)
        env = loom_environ(database_url=url, dags_folder=dags, home=home, **(settings_env or {}))
        engine = create_db_engine(url)
        try:
            sessions = make_session_factory(engine)
            parse_into(sessions, dags)
            yield LoomSite(url, connection, tmp, dags, logs, env, engine, sessions)
        finally:
            engine.dispose()


@contextlib.contextmanager
def rq_scheduler_thread(site: LoomSite, settings: Any, **options: Any) -> Iterator[Any]:
    """A Scheduler with an RQ executor (and a waker, as ``loom scheduler`` has) ticking in a
    :class:`SchedulerThread`; ``options``: more of the Scheduler's arguments."""
    from engine.executors import RQExecutor
    from engine.scheduling.scheduler import Scheduler
    from engine.scheduling.wakeup import build_waker

    executor = RQExecutor(REDIS_URL)
    scheduler = Scheduler(
        session_factory=site.sessions,
        executor=executor,
        settings=settings,
        waker=build_waker(site.url),
        **options,
    )
    with SchedulerThread(scheduler, settings):
        yield scheduler
    executor.stop()


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)
