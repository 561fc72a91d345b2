"""The DAG file of the worker's templating and XCom tests: values of common Python types
between tasks, prev_*_success keys, include_prior_dates, a script file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from engine import DAG, BashOperator, get_current_context, task


@dataclass(frozen=True)
class Batch:
    name: str
    day: date


with DAG(
    "templates",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    user_defined_macros={"team": "data"},
) as dag:

    @task
    def make() -> Any:
        ti = get_current_context()["ti"]
        ti.xcom_push(key="batch", value=Batch("b1", date(2026, 1, 5)))
        ti.xcom_push(key="took", value=timedelta(minutes=5))
        return ({"a", "b"}, (1, 2), datetime(2026, 1, 5, 6, 0))

    @task
    def check(made: Any) -> str:
        ti = get_current_context()["ti"]
        batch = ti.xcom_pull(task_ids="make", key="batch")
        took = ti.xcom_pull(task_ids="make", key="took")
        kinds = [type(v).__name__ for v in (*made, batch, took)]
        return f"{kinds} {batch.day.isoformat()} {sorted(made[0])}"

    @task
    def previous() -> dict[str, Any]:
        context = get_current_context()
        keys = ("prev_data_interval_start_success", "prev_data_interval_end_success",
                "prev_start_date_success", "prev_end_date_success")  # fmt: skip
        return {k: None if not context[k] else context[k].isoformat() for k in keys}

    @task
    def counter() -> int:
        ti = get_current_context()["ti"]
        before = ti.xcom_pull(task_ids="counter", key="count", include_prior_dates=True)
        ti.xcom_push(key="count", value=(before or 0) + 1)
        return int(before or 0)

    check(make())
    previous()
    counter()
    BashOperator(task_id="script", bash_command="templates_script.sh")
