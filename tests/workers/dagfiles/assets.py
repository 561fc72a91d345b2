"""Tasks that update assets and read their events (the worker's asset tests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import DAG, Asset, AssetAlias, EmptyOperator, task

RAW = Asset("s3://bucket/raw")
BROKEN = Asset("s3://bucket/broken")
DYNAMIC = AssetAlias("dynamic")

with DAG("assets", schedule=None, start_date=datetime(2026, 1, 1)):

    @task(outlets=[RAW])
    def make(outlet_events: Any) -> None:
        outlet_events[RAW].extra = {"rows": 3}

    @task(outlets=[BROKEN])
    def fail() -> None:
        raise RuntimeError("no update")

    @task(outlets=[DYNAMIC])
    def through_alias(outlet_events: Any, ds: str) -> None:
        outlet_events[DYNAMIC].add(Asset(f"s3://bucket/day/{ds}"), extra={"day": ds})

    @task(inlets=[RAW, DYNAMIC])
    def read(inlet_events: Any) -> dict[str, Any]:
        events = inlet_events[RAW]
        return {
            "count": len(events),
            "latest": events[-1].extra,
            "source": events[-1].source_task_id,
            "aliased": [e.asset.uri for e in inlet_events[DYNAMIC]],
        }

    @task(outlets=[BROKEN])
    def bad_extra(outlet_events: Any) -> None:
        outlet_events[BROKEN].extra = {"when": object()}

    EmptyOperator(task_id="empty_producer", outlets=[BROKEN])
    bad_extra()
    make()
    fail()
    through_alias()
    read()

with DAG("raw_consumer", schedule=[RAW]):
    EmptyOperator(task_id="consume")

with DAG("alias_consumer", schedule=DYNAMIC):
    EmptyOperator(task_id="consume")
