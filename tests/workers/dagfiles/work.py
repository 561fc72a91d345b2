"""The DAG file the runner tests import (copied into each test's DAG folder)."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from engine import (
    DAG,
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    FailTask,
    PythonOperator,
    SkipTask,
)

log = logging.getLogger("user.task")


def produce() -> dict[str, int]:
    print("hello from produce")
    print("to stderr", file=sys.stderr)
    log.warning("a warning from the task")
    return {"n": 1}


def consume(ti: Any = None) -> int:
    return ti.xcom_pull("produce")["n"] + 1


def boom() -> None:
    raise ValueError("boom")


def give_up() -> None:
    raise FailTask("no point retrying")


def skip() -> None:
    raise SkipTask("nothing to do today")


def sleep_long() -> str:
    time.sleep(5)
    return "woke up"


def sleep_short() -> str:
    time.sleep(0.6)
    return "done"


def chatty() -> None:
    for number in range(5000):
        print(f"line {number:05d} of chatter")


def gated() -> None:
    print("before the gate", flush=True)
    gate = Path(os.environ["LOOM_TEST_GATE"])
    while not gate.exists():
        time.sleep(0.02)
    for number in range(200):
        print(f"line {number:03d} after the gate")
    print("done")


def not_json() -> object:
    return object()


def broken_callback(context: dict[str, object]) -> None:
    raise RuntimeError("callback broke")


def record_callback(context: dict[str, object]) -> None:
    """Appends ``<task_id> <event>`` to the file LOOM_TEST_CALLBACKS names."""
    with open(os.environ["LOOM_TEST_CALLBACKS"], "a") as log:
        log.write(f"{context['ti'].task_id} {context['event']}\n")  # type: ignore[attr-defined]


def mark(event: str) -> Callable[[dict[str, object]], None]:
    return lambda context: record_callback({**context, "event": event})


def choose() -> str:
    return "left"


with DAG("work", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    produce_task = PythonOperator(task_id="produce", python_callable=produce)
    consume_task = PythonOperator(task_id="consume", python_callable=consume)
    produce_task >> consume_task
    PythonOperator(
        task_id="flaky",
        python_callable=boom,
        retries=2,
        retry_delay=timedelta(seconds=10),
        retry_exponential_backoff=True,
    )
    PythonOperator(task_id="final", python_callable=boom, retries=0)
    PythonOperator(task_id="give_up", python_callable=give_up, retries=3)
    PythonOperator(task_id="skip", python_callable=skip)
    PythonOperator(
        task_id="skip_with_callbacks",
        python_callable=skip,
        on_execute_callback=mark("execute"),
        on_skipped_callback=mark("skipped"),
        on_success_callback=mark("success"),
    )
    PythonOperator(
        task_id="slow", python_callable=sleep_long, execution_timeout=timedelta(seconds=0.3)
    )
    PythonOperator(task_id="sleepy", python_callable=sleep_short)
    PythonOperator(task_id="chatty", python_callable=chatty)
    PythonOperator(task_id="gated", python_callable=gated)
    PythonOperator(task_id="not_json", python_callable=not_json)
    PythonOperator(
        task_id="callback_breaks",
        python_callable=produce,
        on_success_callback=broken_callback,
        on_failure_callback=broken_callback,
    )
    PythonOperator(
        task_id="callback_breaks_failing",
        python_callable=boom,
        on_failure_callback=broken_callback,
    )
    branch = BranchPythonOperator(task_id="branch", python_callable=choose)
    branch >> [EmptyOperator(task_id="left"), EmptyOperator(task_id="right")]
    BashOperator(task_id="templated", bash_command="echo day {{ ds }}")
