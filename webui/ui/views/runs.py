"""SCAFFOLD (replaced by the run and task instance pages work)."""

from __future__ import annotations

from webui.ui.blueprint import bp


@bp.route("/dags/<dag_id>/runs/<path:run_id>")
def run(dag_id: str, run_id: str) -> str:
    return f"run {run_id}"


@bp.route("/dags/<dag_id>/runs/<path:run_id>/tasks/<task_id>")
def task_instance(dag_id: str, run_id: str, task_id: str) -> str:
    return f"task {task_id}"
