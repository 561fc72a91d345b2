"""SCAFFOLD (replaced by the DAG page work): the endpoint names other pages link to."""

from __future__ import annotations

from webui.ui.blueprint import bp


@bp.route("/dags/<dag_id>")
def dag_grid(dag_id: str) -> str:
    return f"grid of {dag_id}"


@bp.route("/dags/<dag_id>/graph")
def dag_graph(dag_id: str) -> str:
    return f"graph of {dag_id}"


@bp.route("/dags/<dag_id>/code")
def dag_code(dag_id: str) -> str:
    return f"code of {dag_id}"


@bp.route("/dags/<dag_id>/runs")
def dag_runs(dag_id: str) -> str:
    return f"runs of {dag_id}"


@bp.route("/dags/<dag_id>/trigger", methods=["GET", "POST"])
def trigger(dag_id: str) -> str:
    return f"trigger {dag_id}"
