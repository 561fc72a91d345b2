"""Apache Airflow 3 in a venv of its own: a throw-away home and PostgreSQL database, its
scheduler, DAG processor and API server (LocalExecutor), a run triggered and timed.

Airflow's own timestamps time a run: ``dag_run.queued_at`` (the trigger) to
``dag_run.end_date`` (the scheduler marks the run done); the span from the first task's
start to the last task's end is reported next to it. Loom's figures are timed the same way
(trigger commit to the run's final state).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._infra import POSTGRES_ADMIN_URL, processes
from tests.support.processes import descendants

PORT = int(os.environ.get("LOOM_BENCH_AIRFLOW_PORT", "18793"))


@contextlib.contextmanager
def airflow_database() -> Iterator[str]:
    """An empty database for Airflow's metadata; its SQLAlchemy URL (psycopg2)."""
    name = f"airflow_bench_{os.getpid()}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("+psycopg", "+psycopg2") + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def airflow_env(venv: Path, home: Path, dags: Path, database_url: str) -> dict[str, str]:
    """Airflow's settings: LocalExecutor on PostgreSQL, DAGs unpaused, files re-listed often."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LOOM"))}
    env.pop("PYTHONPATH", None)
    env.update(
        {
            "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}",
            "VIRTUAL_ENV": str(venv),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{PORT}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
            "AIRFLOW__API__PORT": str(PORT),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",  # 2 cores: one uvicorn worker, as standalone
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    return env


class Airflow:
    """Airflow's processes running against one home; :meth:`run` times one DAG run."""

    def __init__(self, venv: Path, env: dict[str, str], database_url: str, logs: Path) -> None:
        self.venv, self.env, self.logs = venv, env, logs
        self.engine = sa.create_engine(database_url.replace("+psycopg2", "+psycopg"))
        self.procs: list[Any] = []
        self.started = time.monotonic()

    def airflow(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [str(self.venv / "bin" / "airflow"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    @contextlib.contextmanager
    def running(self) -> Iterator[Airflow]:
        """``db migrate``, then the API server, scheduler and DAG processor until the end."""
        self.airflow("db", "migrate", timeout=600)
        airflow = str(self.venv / "bin" / "airflow")
        commands = [[airflow, "api-server"], [airflow, "scheduler"], [airflow, "dag-processor"]]
        self.started = time.monotonic()
        try:
            with processes(commands, env=self.env, log_dir=self.logs) as procs:
                self.procs = procs
                self._wait_http(f"http://127.0.0.1:{PORT}/api/v2/monitor/health")
                yield self
        finally:
            self.engine.dispose()

    def wait_parsed(self, dag_ids: list[str], timeout: float = 300) -> float:
        """Seconds from the processes' start until every DAG is serialized."""
        started = self.started
        query = sa.text("SELECT count(DISTINCT dag_id) FROM serialized_dag WHERE dag_id IN :ids")
        query = query.bindparams(sa.bindparam("ids", expanding=True))
        while True:
            with contextlib.suppress(sa.exc.SQLAlchemyError), self.engine.connect() as conn:
                if conn.scalar(query, {"ids": dag_ids}) == len(dag_ids):
                    return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"Airflow did not parse {dag_ids} in {timeout}s; {self.logs}")
            time.sleep(0.5)

    def run(self, dag_id: str, timeout: float = 900) -> dict[str, Any]:
        """Trigger ``dag_id`` (CLI) and wait for its run; Airflow's own timings of it."""
        run_id = f"bench_{int(time.time() * 1000)}"
        self.airflow("dags", "trigger", dag_id, "--run-id", run_id)
        deadline = time.monotonic() + timeout
        while True:
            with self.engine.connect() as conn:
                row = conn.execute(
                    sa.text(
                        "SELECT state, queued_at, start_date, end_date FROM dag_run"
                        " WHERE dag_id = :d AND run_id = :r"
                    ),
                    {"d": dag_id, "r": run_id},
                ).one_or_none()
            if row is not None and row.state in ("success", "failed"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"Airflow run {dag_id}/{run_id} not done in {timeout}s")
            time.sleep(0.2)
        with self.engine.connect() as conn:
            tasks, first, last = conn.execute(
                sa.text(
                    "SELECT count(*), min(start_date), max(end_date) FROM task_instance"
                    " WHERE dag_id = :d AND run_id = :r"
                ),
                {"d": dag_id, "r": run_id},
            ).one()
        return {
            "state": row.state,
            "tasks": tasks,
            "seconds": (row.end_date - row.queued_at).total_seconds(),
            "task_span_seconds": (last - first).total_seconds(),
        }

    def pss_mb(self) -> float:
        """PSS of every Airflow process (the three and their children), in MB."""
        pids = [proc.pid for proc in self.procs]
        pids += [child for pid in list(pids) for child in descendants(pid)]
        return round(sum(_pss_kib(pid) for pid in set(pids)) / 1024, 1)

    def _wait_http(self, url: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"Airflow's API server did not answer {url}; see {self.logs}")
            time.sleep(0.5)


def _pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")), 0)
