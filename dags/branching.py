"""A branch: weekdays load the full report, weekends a light one; both join again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import DAG, BashOperator, EmptyOperator, task

with DAG(
    "branching",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    tags=["example", "branch"],
) as branching:

    @task.branch
    def pick_report(logical_date: Any = None) -> str:
        return "weekend_report" if logical_date.weekday() >= 5 else "weekday_report"

    weekday = BashOperator(task_id="weekday_report", bash_command="echo full report for {{ ds }}")
    weekend = BashOperator(task_id="weekend_report", bash_command="echo light report for {{ ds }}")
    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")

    pick_report() >> [weekday, weekend] >> join
