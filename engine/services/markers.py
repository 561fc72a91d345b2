"""Where an ExternalTaskMarker's clear reaches: the other DAG's run and task it names.

Clearing with downstream in Airflow follows every ExternalTaskMarker among the cleared
tasks into the DAG it names, and clears that task with its own downstream there, marker
after marker. This module answers the lookup half (which run, which task, how deep it
may go); :func:`engine.services.taskchanges.clear_task_instances` does the clearing.

The marker's ``logical_date`` is a template. The webserver never runs DAG code, so it is
rendered here in Jinja's sandbox with the run's dates only (Airflow's usual template
names for them and the ``ds``/``ts`` filters); a template that needs anything else is a
:class:`ConflictError` naming the marker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.errors import ConflictError
from engine.models import DagRun
from engine.timeutil import ensure_aware

MARKER_OPERATOR = "ExternalTaskMarker"


@dataclass(frozen=True)
class MarkedTask:
    """A task of another DAG's run that clearing ``marker_id`` clears too."""

    marker_id: str
    run: DagRun
    task_id: str
    recursion_depth: int


def marked_tasks(
    *, session: Session, dag: SerializedDAG, run: DagRun, task_ids: Iterable[str]
) -> list[MarkedTask]:
    """The other DAGs' tasks that the markers among ``task_ids`` point at, in runs that
    exist (a marker whose run does not exist yet has nothing to clear)."""
    found = []
    for task_id in sorted(task_ids):
        task = dag.tasks[task_id]
        if task.operator != MARKER_OPERATOR:
            continue
        fields = task.fields
        when = _marked_logical_date(task_id, fields["logical_date"], run)
        target = session.scalars(
            sa.select(DagRun).where(
                DagRun.dag_id == fields["external_dag_id"], DagRun.logical_date == when
            )
        ).first()
        if target is not None:
            found.append(
                MarkedTask(task_id, target, fields["external_task_id"], fields["recursion_depth"])
            )
    return found


def too_deep(marked: MarkedTask) -> ConflictError:
    """Airflow's refusal when a chain of markers goes deeper than the first one allows."""
    return ConflictError(
        f"maximum recursion depth {marked.recursion_depth} reached for ExternalTaskMarker "
        f"{marked.marker_id!r}: it clears too many tasks, or the markers form a cycle"
    )


def _marked_logical_date(marker_id: str, template: str, run: DagRun) -> datetime:
    text = _render(marker_id, template, _date_context(run))
    try:
        return ensure_aware(datetime.fromisoformat(text))
    except ValueError:
        raise ConflictError(
            f"ExternalTaskMarker {marker_id!r}: logical_date rendered to {text!r}, "
            "not an ISO 8601 date and time"
        ) from None


def _date_context(run: DagRun) -> dict[str, Any]:
    logical_date = run.logical_date
    return {
        "logical_date": logical_date,
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "ds": logical_date.strftime("%Y-%m-%d"),
        "ts": logical_date.isoformat(),
        "run_id": run.run_id,
    }


def _render(marker_id: str, template: str, context: dict[str, Any]) -> str:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    environment = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    try:
        return str(environment.from_string(template).render(context))
    except jinja2.TemplateError as error:
        raise ConflictError(
            f"ExternalTaskMarker {marker_id!r}: cannot render logical_date {template!r} "
            f"outside a task ({error}); only the run's dates are available here"
        ) from None
