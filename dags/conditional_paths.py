"""Conditional paths: a short circuit, a latest-only guard, weekday and time-of-day
branches, a branch into a task group, a bash task and run_if / skip_if conditions."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from engine import (
    DAG,
    BranchDateTimeOperator,
    BranchDayOfWeekOperator,
    EmptyOperator,
    LatestOnlyOperator,
    TaskGroup,
    WeekDay,
    task,
)

with DAG(
    "conditional_paths",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "branch"],
) as conditional_paths:

    @task.short_circuit
    def has_new_data(logical_date: Any = None) -> bool:
        return logical_date is not None  # a real check would look at the source

    @task.bash(env={"TARGET": "warehouse"}, append_env=True)
    def load(table: str) -> str:
        return f"echo loading {table} into $TARGET for {{{{ ds }}}}"

    latest = LatestOnlyOperator(task_id="latest_only")
    notify = EmptyOperator(task_id="notify")

    weekend_check = BranchDayOfWeekOperator(
        task_id="weekend_check",
        week_day={WeekDay.SATURDAY, WeekDay.SUNDAY},
        use_task_logical_date=True,
        follow_task_ids_if_true="weekend",
        follow_task_ids_if_false="weekday",
    )
    office_hours = BranchDateTimeOperator(
        task_id="office_hours",
        target_lower=time(0),
        target_upper=time(23, 59, 59),
        follow_task_ids_if_true="reports",
        follow_task_ids_if_false="quiet_hours",
    )

    @task.skip_if(lambda context: context["params"].get("dry_run", False), "dry run")
    @task
    def publish() -> str:
        return "published"

    with TaskGroup("reports") as reports:

        @task.run_if(lambda context: context["dag_run"].run_id is not None)
        @task
        def summary() -> str:
            return "summary"

        summary()

    done = EmptyOperator(task_id="done", trigger_rule="none_failed_min_one_success")

    has_new_data() >> load("orders") >> latest >> notify
    load_done = notify
    (
        load_done
        >> weekend_check
        >> [EmptyOperator(task_id="weekend"), EmptyOperator(task_id="weekday")]
    )
    load_done >> office_hours >> [reports, EmptyOperator(task_id="quiet_hours")] >> done
    done >> publish()
