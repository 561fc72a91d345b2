"""A cron schedule in a named time zone: 06:30 on weekdays, Berlin time.

As in Airflow 3 the cron string is a ``CronTriggerTimetable``: a run at each 06:30 whose
logical date is that moment (``scheduler.create_cron_data_intervals: true`` makes it
Airflow 2's run over the day between two ticks instead)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from engine import DAG, BashOperator

with DAG(
    "cron_report",
    schedule="30 6 * * 1-5",
    start_date=datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")),
    catchup=False,
    dagrun_timeout=timedelta(minutes=30),
    tags=["example", "cron"],
    default_args={"owner": "reporting", "execution_timeout": timedelta(minutes=5)},
) as cron_report:
    BashOperator(
        task_id="morning_report",
        bash_command="echo 'morning report of {{ ds }}, run for {{ logical_date }}'",
    )
