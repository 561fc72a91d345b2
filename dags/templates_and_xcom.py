"""Templates and XCom as Airflow 3 writes them: macros, the DAG's own macros and filters, a
script file from template_searchpath, get_current_context(), and XCom values that are not
plain JSON (datetimes, tuples, sets, dataclasses) travelling between tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pendulum

from engine import DAG, BashOperator, get_current_context, task


@dataclass(frozen=True)
class Batch:
    """What the extract hands the summary: a dataclass travels as XCom."""

    source: str
    day: date
    rows: int


def weekday(ds: str) -> str:
    return datetime.strptime(ds, "%Y-%m-%d").strftime("%A")


with DAG(
    "templates_and_xcom",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "templates", "xcom"],
    description="Macros, user-defined macros and filters, a script file, typed XCom",
    user_defined_macros={"warehouse": "analytics"},
    user_defined_filters={"weekday": weekday},
    template_searchpath=["templates"],
) as templates_and_xcom:

    @task
    def extract() -> Batch:
        context = get_current_context()
        day = context["logical_date"].date()
        context["ti"].xcom_push(key="window", value=(context["ds"], context["ts_nodash_with_tz"]))
        return Batch(source="orders", day=day, rows=42)

    @task
    def summarize(batch: Batch) -> dict[str, object]:
        ti = get_current_context()["ti"]
        start, stamp = ti.xcom_pull(task_ids="extract", key="window")
        seen_before = ti.xcom_pull(task_ids="summarize", key="total", include_prior_dates=True)
        total = (seen_before or 0) + batch.rows
        ti.xcom_push(key="total", value=total)
        return {"day": batch.day, "window": (start, stamp), "sources": {batch.source}}

    report = BashOperator(task_id="report", bash_command="daily_summary.sh")

    summarize(extract()) >> report
