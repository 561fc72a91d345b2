"""Tasks whose dependencies conflict with the worker's: a function run by another Python.

``@task.virtualenv`` builds (once, then reuses) a virtualenv from ``requirements``;
``@task.external_python`` uses an interpreter that already exists; both have branch forms.
Each function is self-contained: it imports what it uses inside itself.
"""

import sys
from datetime import datetime

from engine import DAG, EmptyOperator, PythonVirtualenvOperator, task

with DAG(
    "isolated_python",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example"],
    params={"threshold": 10},
):
    # No requirements here so that the example runs offline; list pins as usual, e.g.
    # requirements=["pandas==2.2.3"], and they are installed into this environment only.
    @task.virtualenv(requirements=[], system_site_packages=False)
    def measure(ds=None):
        import importlib.util
        import statistics

        # Isolated: the worker's own packages are not importable here.
        assert importlib.util.find_spec("jinja2") is None
        readings = [3, 9, 14, 21]
        print(f"{ds}: {len(readings)} readings")
        return {"mean": statistics.mean(readings), "peak": max(readings)}

    @task.branch_virtualenv
    def route(stats, params=None):
        return "alert" if stats["peak"] > params["threshold"] else "all_quiet"

    @task.external_python(python=sys.executable)
    def report(stats):
        import sys

        print(f"reporting with {sys.executable}")
        return f"mean {stats['mean']:.1f}"

    def summarize(text, logical_date=None):
        return f"{logical_date:%Y-%m-%d}: {text}"

    stats = measure()
    PythonVirtualenvOperator(
        task_id="summarize", python_callable=summarize, op_args=[report(stats)]
    )
    route(stats) >> [EmptyOperator(task_id="alert"), EmptyOperator(task_id="all_quiet")]
