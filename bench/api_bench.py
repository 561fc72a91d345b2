"""REST API latency under load: ``loom webserver`` (gunicorn) on PostgreSQL.

200 DAGs x 100 runs x 20 tasks (400,000 task instances, inserted in bulk after the DAG
files are parsed); 50 client threads with keep-alive connections request pages of 100:
``GET /api/v2/dags`` and one run's task instances. Prints per endpoint
the single-client service time first (one client, one request at a time: what a request
costs, nearly independent of the load others put on the machine), then p50 and p99 at 50
clients over three repetitions (their spread shows how much the machine's other load
moved them), and the gunicorn settings the figures were taken with.
"""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from bench._infra import LOOM, LoomSite, emit, loom_site, percentile, processes, utcnow

DAGS, RUNS, TASKS = 200, 100, 20
CLIENTS, REQUESTS_PER_CLIENT = 50, 40
SERIAL_REQUESTS = 50
"""Requests per endpoint, one at a time, for the single-client service time."""
REPETITIONS = 3
WORKERS, THREADS = 2, 8
PORT = 18_931
PASSWORD = "bench-password-123"
DAG_SOURCE = """
from datetime import datetime
from engine import DAG, EmptyOperator
from engine import chain

with DAG("{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), tags=["bench"]) as dag:
    chain(*[EmptyOperator(task_id=f"t{{i:02d}}") for i in range({tasks})])
"""


def _dag_files() -> dict[str, str]:
    return {
        dag_id: DAG_SOURCE.format(dag_id=dag_id, tasks=TASKS)
        for dag_id in (f"bench_api_{number:03d}" for number in range(DAGS))
    }


def _populate(site: LoomSite) -> None:
    """The runs and task instances, in bulk, and the benchmark's user."""
    from engine.models import DagRun, TaskInstance
    from engine.security.users import create_user

    start = utcnow() - timedelta(days=1)
    with site.engine.begin() as conn:
        runs = [
            {
                "dag_id": f"bench_api_{d:03d}",
                "run_id": f"manual__{r:03d}",
                "logical_date": start + timedelta(minutes=r),
                "run_type": "manual",
                "state": "success",
                "conf": {},
                "run_after": start,
                "start_date": start,
                "end_date": start,
            }
            for d in range(DAGS)
            for r in range(RUNS)
        ]
        conn.execute(sa.insert(DagRun.__table__), runs)
        ids = conn.execute(sa.select(DagRun.id, DagRun.dag_id, DagRun.run_id)).all()
        tis = [
            {
                "dag_run_id": pk,
                "dag_id": dag_id,
                "run_id": run_id,
                "task_id": f"t{t:02d}",
                "state": "success",
                "try_number": 1,
                "max_tries": 1,
                "priority_class": "default",
                "priority_weight": 1,
                "queue": "default",
                "pool": "default_pool",
                "pool_slots": 1,
                "start_date": start,
                "end_date": start,
                "duration": 0.01,
            }
            for pk, dag_id, run_id in ids
            for t in range(TASKS)
        ]
        for chunk in range(0, len(tis), 20_000):
            conn.execute(sa.insert(TaskInstance.__table__), tis[chunk : chunk + 20_000])
        conn.execute(sa.text("ANALYZE"))
    with site.sessions.begin() as session:
        create_user(session=session, username="bench", password=PASSWORD, role_names=["Admin"])


def _request(conn: http.client.HTTPConnection, path: str, token: str) -> float:
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status}")
    return time.perf_counter() - started


def _login() -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
            body = json.dumps({"username": "bench", "password": PASSWORD})
            conn.request("POST", "/auth/token", body, {"Content-Type": "application/json"})
            return str(json.loads(conn.getresponse().read())["access_token"])
        except (OSError, http.client.HTTPException, KeyError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _load(paths: dict[str, str], token: str) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in paths}
    lock = threading.Lock()

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        mine: dict[str, list[float]] = {name: [] for name in paths}
        for index in range(REQUESTS_PER_CLIENT):
            name = list(paths)[(number + index) % len(paths)]
            mine[name].append(_request(conn, paths[name], token))
        with lock:
            for name, values in mine.items():
                timings[name] += values

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


PATHS = {
    "GET /api/v2/dags?limit=100": "/api/v2/dags?limit=100",
    "GET /api/v2 run task instances (20)": (
        "/api/v2/dags/bench_api_042/dagRuns/manual__050/taskInstances?limit=100"
    ),
}


def _serial(paths: dict[str, str], token: str) -> dict[str, list[float]]:
    """Each endpoint's requests one at a time on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    return {
        name: [_request(conn, path, token) for _ in range(SERIAL_REQUESTS)]
        for name, path in paths.items()
    }


def _ms(values: list[float], fraction: float) -> float:
    return round(1000 * percentile(values, fraction), 1)


def main() -> dict[str, Any]:
    secret = {"LOOM__WEBSERVER__SECRET_KEY": secrets.token_urlsafe(48)}
    with loom_site("loom-bench-api-", _dag_files(), secret) as site:
        _populate(site)
        command = [
            *(LOOM, "webserver", "--host", "127.0.0.1", "--port", str(PORT)),
            *("-w", str(WORKERS), "--threads", str(THREADS)),
        ]
        with processes([command], env=site.env, log_dir=site.logs):
            token = _login()
            _serial(PATHS, token)  # warm-up: connections, caches
            serial = _serial(PATHS, token)
            loads = [_load(PATHS, token) for _ in range(REPETITIONS)]
    figures: dict[str, Any] = {
        "benchmark": "api",
        "dags": DAGS,
        "runs": DAGS * RUNS,
        "task_instances": DAGS * RUNS * TASKS,
        "clients": CLIENTS,
        "gunicorn": {
            "worker_class": "gthread",
            "workers": WORKERS,
            "threads": THREADS,
            "keepalive_s": 5,
            "db_pool_size_per_worker": max(5, THREADS),
        },
    }
    for name in PATHS:
        p99s = sorted(_ms(load[name], 0.99) for load in loads)
        figures[name] = {
            "single_client_ms": {
                "p50": _ms(serial[name], 0.5),
                "p99": _ms(serial[name], 0.99),
            },
            "requests": sum(len(load[name]) for load in loads),
            "p50_ms": _ms([v for load in loads for v in load[name]], 0.5),
            "p99_ms": p99s[len(p99s) // 2],
            "p99_ms_spread": [p99s[0], p99s[-1]],
        }
    figures["target"] = {"p99_ms": 50}
    return emit(figures)


if __name__ == "__main__":
    main()
