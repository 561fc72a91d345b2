"""Sensors: wait for a file, a condition and a moment before going on.

In Airflow this file imports from ``airflow.sdk`` and
``airflow.providers.standard.sensors``; on Loom everything comes from ``engine``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from engine import (
    DAG,
    BashOperator,
    BashSensor,
    DateTimeSensor,
    FileSensor,
    PokeReturnValue,
    task,
)

LANDING = "/tmp/loom_sensors_example"

with DAG(
    "sensors",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "sensors"],
    default_args={"poke_interval": 5, "timeout": timedelta(minutes=30)},
):
    land = BashOperator(
        task_id="land_file",
        bash_command=f"mkdir -p {LANDING} && printf 'a\\nb\\nc\\n' > {LANDING}/{{{{ ds }}}}.csv",
    )

    wait_for_file = FileSensor(task_id="wait_for_file", filepath=LANDING + "/{{ ds }}.csv")

    @task.sensor(poke_interval=10, timeout=600, mode="poke")
    def wait_for_rows(ds: str | None = None) -> PokeReturnValue:
        with open(f"{LANDING}/{ds}.csv") as landed:
            rows = sum(1 for _ in landed)
        return PokeReturnValue(is_done=rows > 0, xcom_value=rows)

    window_open = DateTimeSensor(
        task_id="wait_for_window", target_time="{{ data_interval_start }}", soft_fail=True
    )

    disk_ready = BashSensor(task_id="landing_writable", bash_command=f"test -w {LANDING}")

    @task
    def report(rows: int) -> str:
        return f"{rows} rows landed"

    rows = wait_for_rows()
    land >> wait_for_file >> rows >> window_open >> disk_ready >> report(rows)
