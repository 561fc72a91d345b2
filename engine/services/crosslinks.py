"""Links between DAGs' runs that tasks made: the run a TriggerDagRunOperator created, the
task that created a run, the DAG an ExternalTaskSensor or ExternalTaskMarker watches.

A run made by a task records ``triggered_by`` as ``<dag_id>.<run_id>.<task_id>`` (see
:mod:`engine.execution.trigger_dagrun`); ids may hold dots themselves, so the task is
found by comparing that whole text, among the DAGs whose id starts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedTask
from engine.models import Dag, DagRun, TaskInstance

TRIGGERING_OPERATOR = "TriggerDagRunOperator"
WATCHING_OPERATORS = ("ExternalTaskSensor", "ExternalTaskMarker")


@dataclass(frozen=True)
class RunLink:
    """Another DAG (and, when known, its run) that a task instance is tied to."""

    label: str
    dag_id: str
    run_id: str | None = None


def triggered_by_key(ti: TaskInstance) -> str:
    """What a run that ``ti`` triggered records as its ``triggered_by``."""
    return f"{ti.dag_id}.{ti.run_id}.{ti.task_id}"


def links_of(*, session: Session, ti: TaskInstance, task: SerializedTask | None) -> list[RunLink]:
    """The other DAGs' runs ``ti`` created, or the DAG it watches or marks."""
    if task is None:
        return []
    if task.operator == TRIGGERING_OPERATOR:
        runs = session.scalars(
            sa.select(DagRun).where(DagRun.triggered_by == triggered_by_key(ti)).order_by(DagRun.id)
        )
        return [RunLink("Triggered run", run.dag_id, run.run_id) for run in runs]
    if task.operator in WATCHING_OPERATORS:
        dag_id = task.fields.get("external_dag_id")
        if isinstance(dag_id, str) and session.get(Dag, dag_id) is not None:
            return [RunLink("External DAG", dag_id)]
    return []


def triggering_instance(*, session: Session, run: DagRun) -> TaskInstance | None:
    """The task instance that created ``run`` (a TriggerDagRunOperator's), if a task did."""
    text = run.triggered_by
    if not text or "." not in text:
        return None
    prefixes = [text[:at] for at, char in enumerate(text) if char == "."]
    key = TaskInstance.dag_id + "." + TaskInstance.run_id + "." + TaskInstance.task_id
    return session.scalars(
        sa.select(TaskInstance)
        .where(TaskInstance.dag_id.in_(prefixes), key == text)
        .order_by(TaskInstance.map_index)
    ).first()
