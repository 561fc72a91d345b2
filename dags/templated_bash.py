"""A bash pipeline whose commands are Jinja2 templates rendered for each run."""

from __future__ import annotations

from datetime import datetime

from engine import DAG, BashOperator

with DAG(
    "templated_bash",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"greeting": "hello"},
    tags=["example", "bash"],
    description="Bash commands templated with the run's dates, id and params",
) as templated_bash:
    prepare = BashOperator(
        task_id="prepare",
        bash_command="echo 'run {{ run_id }} for {{ ds }} (interval ends {{ data_interval_end }})'",
    )
    greet = BashOperator(
        task_id="greet",
        bash_command="echo \"$GREETING, it is {{ logical_date.strftime('%A') }}\"",
        env={"GREETING": "{{ params.greeting }}"},
    )
    count = BashOperator(
        task_id="count",
        bash_command="printf '%s\\n' a b c | wc -l",
    )
    prepare >> greet >> count
