"""The DAG file of the runner tests for sensors in poke and reschedule mode."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from engine import DAG, BaseSensorOperator, FileSensor, PokeReturnValue, task

FLAG = Path(__file__).with_name("sensors.flag")


class ThirdPoke(BaseSensorOperator):
    def poke(self, context: object) -> bool:
        count = Path(os.environ["SENSOR_POKES_FILE"])  # set by the test
        pokes = int(count.read_text()) + 1 if count.exists() else 1
        count.write_text(str(pokes))
        return pokes >= 3


with DAG("sensors", schedule=None, start_date=datetime(2026, 1, 1)):

    @task.sensor(poke_interval=0.01, timeout=5)
    def ready() -> PokeReturnValue:
        return PokeReturnValue(is_done=True, xcom_value={"rows": 3})

    ready()
    ThirdPoke(task_id="third", poke_interval=0.01, timeout=5)
    FileSensor(task_id="never", filepath=str(FLAG), poke_interval=0.01, timeout=0.05, retries=3)
    FileSensor(task_id="soft", filepath=str(FLAG), poke_interval=0.01, timeout=0.05, soft_fail=True)
    # mode="reschedule": each poke is one run of the try; the count lives outside the task.
    ThirdPoke(task_id="third_r", mode="reschedule", poke_interval=30, timeout=3600, retries=2)
    FileSensor(
        task_id="never_r", filepath=str(FLAG), mode="reschedule", poke_interval=30, timeout=600,
        retries=3, on_retry_callback=lambda context: print("retry callback"),
    )  # fmt: skip
