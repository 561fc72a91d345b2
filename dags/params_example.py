"""Typed params with defaults; a trigger's conf may override them and is checked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import DAG, BashOperator, Param, PythonOperator


def plan(params: dict[str, Any]) -> dict[str, Any]:
    rows = params["batch_size"] * params["batches"]
    print(f"processing {rows} rows into {params['target']}")
    return {"rows": rows, "target": params["target"]}


with DAG(
    "params_example",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["example", "params"],
    params={
        "target": Param("staging", type="string", enum=["staging", "production"]),
        "batch_size": Param(500, type="integer", minimum=1, maximum=10_000),
        "batches": 2,
    },
) as params_example:
    planned = PythonOperator(task_id="plan", python_callable=plan)
    announce = BashOperator(
        task_id="announce",
        # The run's conf comes from whoever triggers it: it reaches the shell quoted
        # (| sh) or through the environment, never spliced into the command.
        bash_command=(
            'echo "loading into {{ params.target }} with conf $RUN_CONF:" '
            '{{ ti.xcom_pull("plan")["rows"] | sh }} rows'
        ),
        env={"RUN_CONF": "{{ dag_run.conf | tojson }}"},
    )
    planned >> announce
