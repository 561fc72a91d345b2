"""Web UI server time on PostgreSQL: the grid of a big DAG, and the DAG list.

One DAG of 1,000 tasks (20 layers of 50, each task after two of the layer before) with
30 runs, so that the grid shows its default 25 of them (25,000 cells); beside it 500
small DAGs with 10 runs each for ``/dags``. The rows go straight into PostgreSQL (the
serialized graphs are built in this process from DAG objects, as the parser would). The
pages are asked for through Flask's test client, signed in as an Admin, so the figures
are the server's time (queries and rendering) without a network. Prints p50 and p90 per
page; the graph page of the same DAG is measured too, for information.

The grid is two requests: the page (a frame) and its JSON (``grid/data``), which
``grid.js`` draws. ``grid_total`` adds their p50 (the target applies to it) and their
weight: what a browser downloads for the grid, which was 4.6 MB of HTML before the JSON.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._infra import emit, percentile, postgres_database, temp_dir, utcnow

GRID_TASKS, GRID_LAYERS, GRID_RUNS = 1_000, 20, 30
LIST_DAGS, LIST_RUNS, LIST_TASKS = 500, 10, 5
GRID_DAG = "bench_ui_grid"
REPEATS = {"grid": 15, "grid_data": 15, "dags": 30, "graph": 5}
TARGET_MS = {"grid_total": 300, "dags": 200}
PASSWORD = "bench-password-123"
TI_STATES = ("success", "success", "success", "failed", "upstream_failed", "skipped", "none")
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def _grid_dag() -> Any:
    from engine import DAG, EmptyOperator

    width = GRID_TASKS // GRID_LAYERS
    with DAG(GRID_DAG, schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        layers = [
            [EmptyOperator(task_id=f"l{layer:02d}_t{n:02d}") for n in range(width)]
            for layer in range(GRID_LAYERS)
        ]
        for upper, lower in pairwise(layers):
            for n, task in enumerate(lower):
                upper[n] >> task
                upper[(n * 7 + 3) % width] >> task
    return dag


def _small_dag(dag_id: str) -> Any:
    from engine import DAG, EmptyOperator, chain

    with DAG(dag_id, schedule="@daily", start_date=datetime(2026, 1, 1), tags=["bench"]) as dag:
        chain(*[EmptyOperator(task_id=f"t{i}") for i in range(LIST_TASKS)])
    return dag


def _dag_rows(dags: list[Any], now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from engine.authoring.serialization import dag_hash, serialize_dag

    dag_rows, serialized_rows = [], []
    for dag in dags:
        data = serialize_dag(dag)
        dag_rows.append(
            {
                "dag_id": dag.dag_id,
                "fileloc": f"/bench/{dag.dag_id}.py",
                "description": f"Benchmark DAG {dag.dag_id}",
                "owner": "bench",
                "tags": list(data["tags"]),
                "schedule": str(data["schedule_display"]),
                "is_paused": False,
                "is_active": True,
                "last_parsed_at": now,
            }
        )
        serialized_rows.append(
            {
                "dag_id": dag.dag_id,
                "data": data,
                "dag_hash": dag_hash(data),
                "fileloc": f"/bench/{dag.dag_id}.py",
                "file_hash": "0" * 64,
            }
        )
    return dag_rows, serialized_rows


def _run_rows(dag_id: str, count: int, start: datetime) -> list[dict[str, Any]]:
    return [
        {
            "dag_id": dag_id,
            "run_id": f"manual__{number:03d}",
            "logical_date": start + timedelta(hours=number),
            "run_type": "manual",
            "state": "failed" if number % 5 == 4 else "success",
            "conf": {},
            "run_after": start,
            "start_date": start + timedelta(hours=number),
            "end_date": start + timedelta(hours=number, minutes=3),
        }
        for number in range(count)
    ]


def _populate(url: str) -> None:
    from engine.models import Dag, DagRun, SerializedDag, TaskInstance
    from engine.models.session import create_db_engine

    now = utcnow()
    start = now - timedelta(days=30)
    grid = _grid_dag()
    dag_rows, serialized_rows = _dag_rows(
        [grid, *(_small_dag(f"bench_ui_{n:03d}") for n in range(LIST_DAGS))], now
    )
    runs = _run_rows(GRID_DAG, GRID_RUNS, start)
    for n in range(LIST_DAGS):
        runs += _run_rows(f"bench_ui_{n:03d}", LIST_RUNS, start)
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(Dag.__table__), dag_rows)
        conn.execute(sa.insert(SerializedDag.__table__), serialized_rows)
        conn.execute(sa.insert(DagRun.__table__), runs)
        grid_runs = conn.execute(
            sa.select(DagRun.id, DagRun.run_id).where(DagRun.dag_id == GRID_DAG)
        ).all()
        tis = [
            {
                "dag_run_id": pk,
                "dag_id": GRID_DAG,
                "run_id": run_id,
                "task_id": task_id,
                "state": TI_STATES[(index + pk) % len(TI_STATES)],
                "try_number": 1,
                "max_tries": 1,
                "priority_class": "default",
                "priority_weight": 1,
                "queue": "loom.default",
                "pool": "default_pool",
                "pool_slots": 1,
            }
            for pk, run_id in grid_runs
            for index, task_id in enumerate(grid.task_ids)
        ]
        for chunk in range(0, len(tis), 10_000):
            conn.execute(sa.insert(TaskInstance.__table__), tis[chunk : chunk + 10_000])
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def _signed_in_client(url: str, home: Path) -> Any:
    from engine.config import load_settings
    from engine.models.session import create_db_engine, make_session_factory
    from engine.security.users import create_user
    from webui import create_app

    engine = create_db_engine(url)
    with make_session_factory(engine).begin() as session:
        create_user(session=session, username="bench", password=PASSWORD, role_names=["Admin"])
    engine.dispose()
    environ = {
        "LOOM_HOME": str(home),
        "LOOM__DATABASE__URL": url,
        "LOOM__WEBSERVER__SECRET_KEY": secrets.token_urlsafe(48),
        "LOOM__CORE__DAGS_FOLDER": str(home / "dags"),
        "LOOM__LOGGING__LEVEL": "WARNING",
    }
    app = create_app({"LOOM_SETTINGS": load_settings(environ, cwd=home)})
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    match = _CSRF.search(form)
    if match is None:
        raise RuntimeError("the login page has no CSRF token")
    reply = client.post(
        "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": match.group(1)}
    )
    if reply.status_code != 302:
        raise RuntimeError(f"sign-in failed: HTTP {reply.status_code}")
    return app, client


def _timed(client: Any, path: str, repeats: int) -> dict[str, Any]:
    """Server time of ``GET path`` (after one warm-up request), and the page's size."""
    warm = client.get(path)
    if warm.status_code != 200:
        raise RuntimeError(f"GET {path}: HTTP {warm.status_code}")
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        reply = client.get(path)
        reply.get_data()
        timings.append(time.perf_counter() - started)
    return {
        "path": path,
        "requests": repeats,
        "p50_ms": round(1000 * percentile(timings, 0.5), 1),
        "p90_ms": round(1000 * percentile(timings, 0.9), 1),
        "kib": round(len(warm.get_data()) / 1024),
        "bytes": len(warm.get_data()),
    }


def _grid_total(page: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The grid as a browser gets it: the page and its JSON, server time and weight."""
    weight = page["bytes"] + data["bytes"]
    return {
        "p50_ms": round(page["p50_ms"] + data["p50_ms"], 1),
        "html_bytes": page["bytes"],
        "json_bytes": data["bytes"],
        "bytes": weight,
        "kib": round(weight / 1024),
    }


def main() -> dict[str, Any]:
    from webui.db import dispose

    with postgres_database() as url, temp_dir("loom-bench-ui-") as tmp:
        _populate(url)
        app, client = _signed_in_client(url, tmp)
        try:
            pages = {
                "grid": f"/dags/{GRID_DAG}",
                "grid_data": f"/dags/{GRID_DAG}/grid/data?runs=25",
                "dags": "/dags",
                "graph": f"/dags/{GRID_DAG}/graph",
            }
            figures: dict[str, Any] = {
                "benchmark": "ui",
                "grid_cells": f"{GRID_TASKS} tasks x 25 runs",
                "dag_count": LIST_DAGS + 1,
            }
            for name, path in pages.items():
                figures[name] = _timed(client, path, REPEATS[name])
            figures["grid_total"] = _grid_total(figures["grid"], figures["grid_data"])
        finally:
            dispose(app)
    figures["target_ms"] = TARGET_MS
    return emit(figures)


if __name__ == "__main__":
    main()
