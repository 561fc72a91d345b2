"""The DAG files Airflow runs in the side-by-side benchmark, written for this benchmark.

The same shapes as Loom's :mod:`bench.loom_runs` (``@task`` no-ops: a chain, and a
fan-out 1 → ``width`` → 1; their bodies are :mod:`bench.dag_files`'), with Airflow 3's
imports.
"""

from __future__ import annotations

from bench import dag_files

CHAIN_DAG_ID = "side_by_side_chain"
FAN_OUT_DAG_ID = "side_by_side_fan_out"

_AIRFLOW = {"sdk": "airflow.sdk", "options": ", catchup=False"}

CHAIN = dag_files.dag_file(CHAIN_DAG_ID, dag_files.CHAIN, names="DAG, chain, task", **_AIRFLOW)

FAN_OUT = dag_files.dag_file(FAN_OUT_DAG_ID, dag_files.FAN_OUT, **_AIRFLOW)
