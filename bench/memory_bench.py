"""Peak memory (PSS) of ``loom standalone`` while the example DAGs run.

``loom standalone`` starts on its embedded defaults (SQLite in a temporary LOOM_HOME, the
local executor) with the repository's ``dags/``; once the DAGs are parsed, the manual
example DAGs are triggered with ``loom dags trigger`` (separate processes, not counted).
Every 0.2 s the PSS of the standalone process and all its descendants (executor pool,
parser children) is read from ``/proc/<pid>/smaps_rollup`` and summed. PSS counts a page
shared by n processes as 1/n in each, so the sum is what the group really occupies.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._infra import LOOM, REPO, emit, processes, temp_dir
from tests.support.processes import descendants

MANUAL_DAGS = ("flaky_retry", "params_example")
SAMPLE_SECONDS = 0.2


def pss_kib(pid: int) -> int:
    """PSS of one process in KiB (0 if it is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (OSError, ProcessLookupError):
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _env(home: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM")}
    env.update({"LOOM_HOME": str(home), "LOOM__CORE__DAGS_FOLDER": str(REPO / "dags")})
    return env


def _parsed(db: Path) -> bool:
    if not db.exists():
        return False
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            ids = set(conn.execute(sa.text("SELECT dag_id FROM dag")).scalars())
        return set(MANUAL_DAGS) <= ids
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def _run_states(db: Path) -> dict[str, int]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT state, count(*) FROM dag_run GROUP BY state"))
            return {str(state): int(count) for state, count in rows}
    except sa.exc.SQLAlchemyError:
        return {}
    finally:
        engine.dispose()


def main(duration: float = 15.0) -> dict[str, Any]:
    samples: list[tuple[float, int, int]] = []
    triggered: list[str] = []
    with temp_dir("loom-bench-mem-") as tmp:
        home, logs = tmp / "home", tmp / "logs"
        home.mkdir()
        logs.mkdir()
        env = _env(home)
        db = home / "loom.db"
        with processes([[LOOM, "standalone"]], env=env, log_dir=logs) as (standalone,):
            started = time.monotonic()
            while time.monotonic() - started < duration:
                if standalone.poll() is not None:
                    log = (logs / "proc-0.log").read_text()[-2000:]
                    raise RuntimeError(f"loom standalone exited early:\n{log}")
                pids = [standalone.pid, *descendants(standalone.pid)]
                samples.append((time.monotonic() - started, sum(map(pss_kib, pids)), len(pids)))
                if not triggered and _parsed(db):
                    for dag_id in MANUAL_DAGS:
                        subprocess.run([LOOM, "dags", "trigger", dag_id], env=env, cwd=REPO,
                                       check=True, capture_output=True)  # fmt: skip
                        triggered.append(dag_id)
                time.sleep(SAMPLE_SECONDS)
            states = _run_states(db)
        with contextlib.suppress(OSError):
            (logs / "proc-0.log").unlink()
    peak = max(samples, key=lambda sample: sample[1])
    return emit(
        {
            "benchmark": "standalone_memory",
            "seconds_sampled": duration,
            "samples": len(samples),
            "triggered": triggered,
            "dag_runs": states,
            "peak_pss_mb": round(peak[1] / 1024, 1),
            "peak_at_seconds": round(peak[0], 1),
            "processes_at_peak": peak[2],
            "final_pss_mb": round(samples[-1][1] / 1024, 1),
            "target": {"peak_pss_mb": 250},
        }
    )


if __name__ == "__main__":
    main()
