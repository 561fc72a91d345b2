"""A cron schedule in a named time zone: 06:30 on weekdays, Berlin time."""

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
        bash_command="echo 'report for {{ data_interval_start }} .. {{ data_interval_end }}'",
    )
