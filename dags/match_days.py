"""Runs on listed match days only (an events timetable), and every four hours in between
(a delta trigger): two DAGs showing timetables beyond cron."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine import DAG, DeltaTriggerTimetable, EventsTimetable, task

MATCHES = [datetime(2026, 3, 7, 15, 30), datetime(2026, 3, 14, 18), datetime(2026, 3, 21, 15, 30)]

with DAG(
    "match_days",
    schedule=EventsTimetable(MATCHES, restrict_to_events=True, description="Home matches"),
    start_date=datetime(2026, 3, 1),
    catchup=True,
    tags=["example", "timetables"],
) as match_days:

    @task
    def sell_tickets(data_interval_start: datetime | None = None) -> str:
        print(f"selling tickets for the match at {data_interval_start}")
        return str(data_interval_start)

    sell_tickets()

with DAG(
    "stock_check",
    schedule=DeltaTriggerTimetable(timedelta(hours=4), interval=timedelta(hours=4)),
    start_date=datetime(2026, 3, 1),
    tags=["example", "timetables"],
) as stock_check:

    @task
    def count_stock() -> int:
        return 42

    count_stock()
