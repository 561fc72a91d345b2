"""A DAG for the runner tests of task arguments: XCom pushing, multiple outputs, params."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import DAG, PythonOperator


def split() -> dict[str, int]:
    return {"a": 1, "b": 2}


def five() -> int:
    return 5


def show_params(params: Any = None) -> dict[str, Any]:
    return dict(params)


with DAG(
    "knobs",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"colour": "red", "size": 1},
    default_args={"params": {"size": 2}},
) as dag:
    PythonOperator(task_id="split", python_callable=split, multiple_outputs=True)
    PythonOperator(task_id="not_a_dict", python_callable=five, multiple_outputs=True)
    PythonOperator(task_id="quiet", python_callable=split, do_xcom_push=False)
    PythonOperator(task_id="params", python_callable=show_params, params={"colour": "blue"})
