"""Start-up time of the ``loom`` command line, on a fresh SQLite home.

The median wall time, over a few runs, of ``loom --help`` (nothing but the command
table), ``loom dags list`` (settings, the database and one query) and ``loom dags
trigger`` (a write through the run service). Each run is a new process, as a user or a
script starts it; what it costs is mostly imports. Needs no service.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from bench._infra import LOOM, emit, loom_environ, median, temp_dir, write_dag

RUNS = 7
DAG_ID = "bench_cli"
DAG_SOURCE = f"""
from datetime import datetime
from engine import DAG, EmptyOperator

with DAG("{DAG_ID}", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    EmptyOperator(task_id="only")
"""
COMMANDS = {
    "help": ["--help"],
    "dags_list": ["dags", "list"],
    "dags_trigger": ["dags", "trigger", DAG_ID],
}


def _loom(args: list[str], env: dict[str, str]) -> float:
    """Run ``loom args`` to completion; its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run([LOOM, *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _fresh_home(home: Path) -> dict[str, str]:
    """A migrated SQLite database in ``home`` with one DAG parsed into it."""
    dags = home / "dags"
    dags.mkdir()
    write_dag(dags, DAG_ID, DAG_SOURCE)
    env = loom_environ(
        database_url=f"sqlite:///{home / 'loom.db'}",
        dags_folder=dags,
        home=home,
        LOOM__EXECUTOR__KIND="local",
    )
    _loom(["db", "upgrade"], env)
    _loom(["dags", "reparse"], env)
    return env


def main(runs: int = RUNS) -> dict[str, object]:
    with temp_dir("loom-bench-cli-") as home:
        env = _fresh_home(home)
        _loom(["--help"], env)  # warm the file cache: every timed run starts alike
        seconds = {name: [_loom(args, env) for _ in range(runs)] for name, args in COMMANDS.items()}
    figures: dict[str, object] = {"benchmark": "cli", "runs": runs}
    figures.update({f"{name}_median_s": round(median(s), 3) for name, s in seconds.items()})
    figures["target"] = {
        "help_median_s": 0.3,
        "dags_list_median_s": 0.5,
        "dags_trigger_median_s": 0.5,
    }
    return emit(figures)


if __name__ == "__main__":
    main()
