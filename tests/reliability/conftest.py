"""Real processes against real services: start ``loom scheduler`` / ``loom worker``, kill them.

Every process a test starts goes through :func:`start_process` and is killed (with
everything it spawned) when the test ends; its stdout and stderr go to files under the
test's ``tmp_path`` and are printed when the test failed. Every wait is bounded
(:func:`wait_until`). Redis database 13 is these tests' own and is flushed before and
after each test.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from redis import Redis

from tests.support.processes import LOOM, Processes, loom_cli, rq_deployment_env, wait_until
from tests.support.services import flushed_redis, redis_url

REDIS_URL = redis_url(13)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def processes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.stop_all()
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            procs.dump_logs()


@pytest.fixture
def start_process(processes: Processes) -> Callable[..., subprocess.Popen[bytes]]:
    """``start_process(args, env)``: a Popen logging to files, killed at teardown."""
    return processes.start


@pytest.fixture
def redis13() -> Iterator[Redis]:
    """Redis database 13, empty before and after the test."""
    with flushed_redis(REDIS_URL) as connection:
        yield connection


def migrated_env(
    *, home: Path, database_url: str, redis_url: str, dags_folder: Path, **settings: str
) -> dict[str, str]:
    """Environment of every ``loom`` process of a deployment, on a freshly migrated
    database, with fast ticks (``settings`` add to or override them)."""
    env = rq_deployment_env(
        home=home,
        database_url=database_url,
        redis_url=redis_url,
        dags_folder=dags_folder,
        **{
            "LOOM__SCHEDULER__TICK_INTERVAL": "0.2s",
            "LOOM__SCHEDULER__PARSE_INTERVAL": "1s",
            **settings,
        },
    )
    result = loom_cli(env, "db", "upgrade")
    assert result.returncode == 0, result.stdout + result.stderr
    return env


@pytest.fixture
def loom_env(tmp_path: Path, postgres_url: str, dags_folder: Path) -> dict[str, str]:
    """Environment of every ``loom`` process of the test, on a freshly migrated database."""
    return migrated_env(
        home=tmp_path / "loom-home",
        database_url=postgres_url,
        redis_url=REDIS_URL,
        dags_folder=dags_folder,
        LOOM__SCHEDULER__ZOMBIE_THRESHOLD="3s",
        LOOM__SCHEDULER__HEARTBEAT_INTERVAL="0.5s",
    )


@dataclass
class Db:
    """Plain SQL against the test's database."""

    engine: sa.Engine

    def rows(self, sql: str, **params: Any) -> list[sa.Row[Any]]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql), params)

    def run_states(self, dag_id: str) -> dict[str, str]:
        rows = self.rows("SELECT run_id, state FROM dag_run WHERE dag_id = :d", d=dag_id)
        return {row.run_id: row.state for row in rows}


@pytest.fixture
def db(postgres_url: str) -> Iterator[Db]:
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        yield Db(engine)
    finally:
        engine.dispose()


@dataclass
class Loom:
    """Start the processes of one Loom deployment (scheduler, workers) and run commands."""

    env: dict[str, str]
    processes: Processes
    db: Db
    dags_folder: Path

    def scheduler(self, name: str = "scheduler") -> subprocess.Popen[bytes]:
        return self.processes.start([LOOM, "scheduler"], self.env, name=name)

    def scheduler_with(self, **env: str) -> subprocess.Popen[bytes]:
        """A scheduler with these settings on top of the deployment's."""
        name = f"scheduler-{len(self.processes.started)}"
        return self.processes.start([LOOM, "scheduler"], {**self.env, **env}, name=name)

    def worker(self, *args: str, name: str = "worker") -> subprocess.Popen[bytes]:
        return self.processes.start([LOOM, "worker", *args], self.env, name=name)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return loom_cli(self.env, *args)

    def add_dag(self, name: str, source: str) -> None:
        (self.dags_folder / f"{name}.py").write_text(source)

    def reparse(self) -> None:
        result = self.cli("dags", "reparse")
        assert result.returncode == 0, result.stdout + result.stderr

    def trigger(self, dag_id: str, *args: str) -> str:
        result = self.cli("dags", "trigger", dag_id, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def wait_runs(self, dag_id: str, count: int, timeout: float) -> dict[str, str]:
        """Wait until ``count`` runs of ``dag_id`` have finished; returns run id → state."""

        def finished() -> dict[str, str] | None:
            states = self.db.run_states(dag_id)
            done = {r: s for r, s in states.items() if s in ("success", "failed")}
            return states if len(done) >= count else None

        result: dict[str, str] = wait_until(
            finished, timeout, interval=0.3, what=f"{count} finished runs of {dag_id}"
        )
        return result


@pytest.fixture
def loom(
    loom_env: dict[str, str], processes: Processes, db: Db, dags_folder: Path, redis13: Redis
) -> Loom:
    return Loom(env=loom_env, processes=processes, db=db, dags_folder=dags_folder)


@pytest.fixture
def loom_on(
    tmp_path: Path, postgres_url: str, dags_folder: Path, processes: Processes, db: Db
) -> Iterator[Callable[..., Loom]]:
    """``loom_on(redis_url, **settings)``: a deployment on a Redis database of the test
    module's own (emptied before and after), for modules that run beside database 13's."""
    with ExitStack() as stack:

        def deploy(redis_url: str, **settings: str) -> Loom:
            stack.enter_context(flushed_redis(redis_url))
            env = migrated_env(
                home=tmp_path / "loom-home",
                database_url=postgres_url,
                redis_url=redis_url,
                dags_folder=dags_folder,
                **settings,
            )
            return Loom(env=env, processes=processes, db=db, dags_folder=dags_folder)

        yield deploy


def loom_on_redis(redis_url: str, **settings: str) -> Any:
    """The ``loom`` fixture of a test module that runs beside the others: its deployment
    is on the Redis database ``redis_url``, the module's own, with ``settings``."""

    @pytest.fixture
    def loom(loom_on: Callable[..., Loom]) -> Loom:
        return loom_on(redis_url, **settings)

    return loom
