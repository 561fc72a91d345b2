"""A task that fails on its first try and succeeds on its retry, with exponential backoff."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from engine import DAG, PythonOperator


def call_flaky_service(ti: Any) -> str:
    if ti.try_number == 1:
        raise ConnectionError("the service is warming up (this first try always fails)")
    return f"answered on try {ti.try_number}"


def report(ti: Any) -> None:
    print("flaky said:", ti.xcom_pull(task_ids="flaky"))


with DAG(
    "flaky_retry",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["example", "retries"],
    description="Shows retries with exponential backoff",
) as flaky_retry:
    flaky = PythonOperator(
        task_id="flaky",
        python_callable=call_flaky_service,
        retries=3,
        retry_delay=timedelta(seconds=2),
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(seconds=30),
    )
    flaky >> PythonOperator(task_id="report", python_callable=report)
