"""``python -m bench.airflow``: the same DAG shapes on Apache Airflow 3 and on Loom, one run.

Opt-in (never part of ``make test`` or ``make bench``): it needs Airflow 3 installed in a
venv of its own, given by ``--venv`` or ``LOOM_BENCH_AIRFLOW_VENV``. Prints one JSON
line per shape with both figures and the ratio (Airflow's time over Loom's), then one with
Airflow's memory. See ``bench/airflow/README.md``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bench import loom_runs
from bench._infra import emit, temp_dir
from bench.airflow import shapes
from bench.airflow.airflow_side import Airflow, airflow_database, airflow_env


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.airflow", description=__doc__)
    parser.add_argument("--venv", default=os.environ.get("LOOM_BENCH_AIRFLOW_VENV", ""))
    parser.add_argument("--length", type=int, default=50, help="chain length (50)")
    parser.add_argument("--width", type=int, default=100, help="fan-out width (100)")
    arguments = parser.parse_args()
    venv = Path(arguments.venv)
    if not arguments.venv or not (venv / "bin" / "airflow").exists():
        parser.error(
            "give Airflow 3's venv: --venv PATH or LOOM_BENCH_AIRFLOW_VENV "
            f"(no bin/airflow under {arguments.venv!r})"
        )
    return arguments


def run_airflow(venv: Path, *, length: int, width: int) -> dict[str, Any]:
    """Both shapes on Airflow, one run each, in one Airflow installation."""
    with airflow_database() as url, temp_dir("loom-bench-airflow-") as tmp:
        home, dags, logs = tmp / "home", tmp / "dags", tmp / "logs"
        for folder in (home, dags, logs):
            folder.mkdir()
        (dags / "side_by_side_chain.py").write_text(shapes.CHAIN.format(length=length))
        (dags / "side_by_side_fan_out.py").write_text(shapes.FAN_OUT.format(width=width))
        airflow = Airflow(venv, airflow_env(venv, home, dags, url), url, logs)
        with airflow.running():
            parse_seconds = airflow.wait_parsed([shapes.CHAIN_DAG_ID, shapes.FAN_OUT_DAG_ID])
            chain = airflow.run(shapes.CHAIN_DAG_ID)
            fan_out = airflow.run(shapes.FAN_OUT_DAG_ID)
            pss = airflow.pss_mb()
        version = airflow.airflow("version").strip().splitlines()[-1]
    return {
        "version": version,
        "parse_seconds": round(parse_seconds, 1),
        "chain": chain,
        "fan_out": fan_out,
        "pss_mb": pss,
    }


BENCHMARK = "airflow_side_by_side"
SETUP = {
    "airflow": "LocalExecutor, PostgreSQL, scheduler + dag-processor + api-server",
    "loom": "RQ workers (loom worker), PostgreSQL, Redis; scheduler in the bench process",
}
"""What ran on each side."""


def _shape_figures(
    airflow: dict[str, Any], shape: str, size: dict[str, int], **figures: Any
) -> dict[str, Any]:
    """One shape's line: its size, what ran where, how Airflow's run ended, then ``figures``."""
    return {
        "benchmark": BENCHMARK,
        "shape": shape,
        **size,
        "airflow_version": airflow["version"],
        **SETUP,
        "airflow_state": airflow[shape]["state"],
        **figures,
    }


def main() -> None:
    arguments = _arguments()
    length, width = arguments.length, arguments.width
    airflow = run_airflow(Path(arguments.venv), length=length, width=width)
    forking = loom_runs.chain_once(length, fork=True)
    in_process = loom_runs.chain_once(length, fork=False)
    fan_out = loom_runs.fan_out_once(width)
    chain_ms = 1000 * airflow["chain"]["seconds"] / length
    emit(
        _shape_figures(
            airflow,
            "chain",
            {"length": length},
            airflow_ms_per_task=round(chain_ms, 1),
            loom_forking_ms_per_task=round(forking["ms_per_task"], 2),
            loom_in_process_ms_per_task=round(in_process["ms_per_task"], 2),
            ratio_forking=round(chain_ms / forking["ms_per_task"], 1),
            ratio_in_process=round(chain_ms / in_process["ms_per_task"], 1),
            target={"ratio_forking": 200},
        )
    )
    airflow_rate = airflow["fan_out"]["tasks"] / airflow["fan_out"]["seconds"]
    emit(
        _shape_figures(
            airflow,
            "fan_out",
            {"width": width},
            airflow_tasks_per_second=round(airflow_rate, 2),
            loom_tasks_per_second_2_workers=round(fan_out["tasks_per_second"], 1),
            ratio=round(fan_out["tasks_per_second"] / airflow_rate, 1),
            target={"ratio": 60},
        )
    )
    emit(
        {
            "benchmark": BENCHMARK,
            "shape": "memory",
            "airflow_pss_mb": airflow["pss_mb"],
            "airflow_parse_seconds": airflow["parse_seconds"],
        }
    )


if __name__ == "__main__":
    main()
