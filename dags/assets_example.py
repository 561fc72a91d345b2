"""Data-aware scheduling: a producer updates assets, consumers run when they were updated.

``orders_landing`` lands raw orders daily (its task's outlet is the ``raw_orders`` asset);
``orders_report`` runs each time both ``raw_orders`` and ``fx_rates`` were updated (the
latter by ``fx_rates``, an ``@asset``, or by an external system through
``POST /api/v2/assets/events``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import DAG, Asset, asset, task

RAW_ORDERS = Asset(name="raw_orders", uri="s3://lake/orders/raw", group="sales")


@asset(schedule="@hourly", start_date=datetime(2026, 1, 1), catchup=False, tags=["example"])
def fx_rates(self: Asset) -> dict[str, float]:
    """Fetch exchange rates (the asset is this function's DAG's only task's outlet)."""
    print(f"refreshing {self.uri}")
    return {"EUR": 1.0, "USD": 1.08}


with DAG(
    "orders_landing",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "assets"],
):

    @task(outlets=[RAW_ORDERS])
    def land(outlet_events: Any, ds: str) -> None:
        rows = 120
        print(f"landed {rows} orders for {ds}")
        outlet_events[RAW_ORDERS].extra = {"rows": rows, "day": ds}

    land()


with DAG("orders_report", schedule=RAW_ORDERS & fx_rates, tags=["example", "assets"]):

    @task(inlets=[RAW_ORDERS])
    def report(triggering_asset_events: Any, inlet_events: Any) -> int:
        for updated, events in triggering_asset_events.items():
            print(f"{updated.name}: {len(events)} new event(s)")
        history = inlet_events[RAW_ORDERS]
        print(f"raw_orders has {len(history)} event(s) in all")
        return len(history)

    report()
