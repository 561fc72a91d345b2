"""ETL with TaskFlow: each function's return value flows to the next as XCom."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine import dag, task


@dag(
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "etl"],
    default_args={"owner": "data", "retries": 2, "retry_delay": timedelta(seconds=10)},
)
def etl_taskflow() -> None:
    """Extract orders, total them per customer, and load the summary."""

    @task
    def extract() -> list[dict[str, object]]:
        return [
            {"customer": "ada", "amount": 120.0},
            {"customer": "grace", "amount": 80.5},
            {"customer": "ada", "amount": 30.0},
        ]

    @task
    def transform(orders: list[dict[str, object]]) -> dict[str, float]:
        totals: dict[str, float] = {}
        for order in orders:
            customer = str(order["customer"])
            totals[customer] = totals.get(customer, 0.0) + float(str(order["amount"]))
        return totals

    @task(priority="high")
    def load(totals: dict[str, float], ds: str = "") -> int:
        for customer, total in sorted(totals.items()):
            print(f"{ds} {customer}: {total:.2f}")
        return len(totals)

    load(transform(extract()))


etl_taskflow()
