"""The DAG file of the runner tests for short circuits, EmptyOperator joins and group branches."""

from __future__ import annotations

from datetime import datetime

from engine import DAG, EmptyOperator, PythonOperator, ShortCircuitOperator, TaskGroup, task

with DAG("operators", schedule=None, start_date=datetime(2026, 1, 1)):
    gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: False)
    gate >> EmptyOperator(task_id="a") >> EmptyOperator(task_id="b", trigger_rule="all_done")

    soft = ShortCircuitOperator(
        task_id="soft", python_callable=lambda: [], ignore_downstream_trigger_rules=False
    )
    (
        soft
        >> PythonOperator(task_id="c", python_callable=print)
        >> PythonOperator(task_id="d", python_callable=print, trigger_rule="all_done")
    )

    work = PythonOperator(task_id="work", python_callable=lambda: "done")
    join = EmptyOperator(task_id="join")
    (
        work
        >> join
        >> EmptyOperator(task_id="joined")
        >> PythonOperator(task_id="after", python_callable=print)
    )

    @task.branch
    def pick() -> str:
        return "group"

    with TaskGroup("group") as group:
        PythonOperator(task_id="first", python_callable=print)
    pick() >> [group, PythonOperator(task_id="other", python_callable=print)]
