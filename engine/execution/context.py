"""The context a running task sees: dates, run, params, and its XCom handle (``ti``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine.execution.xcoms import (
    RETURN_VALUE,
    PullRequest,
    XComStore,
    encoded,
    pull,
)
from engine.plugins.registry import active_plugins

if TYPE_CHECKING:
    from engine.authoring.baseoperator import BaseOperator
    from engine.authoring.dag import DAG

BUILTIN_MACROS: dict[str, Any] = {"datetime": datetime, "timedelta": timedelta, "json": json}
"""``macros.<name>`` in templates; plugins add ``macros.<plugin name>`` beside these."""


@dataclass(frozen=True)
class RunInfo:
    """What a task knows of its dag run (``dag_run`` in templates)."""

    dag_id: str
    run_id: str
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    conf: Mapping[str, Any] = field(default_factory=dict)
    run_type: str = "manual"


@dataclass
class TaskInstanceHandle:
    """``ti`` in a task's context: its identity, its try, and XCom access."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    max_tries: int
    xcom: XComStore
    map_index: int = -1
    """Which instance of a mapped task this is; -1 when the task is not mapped."""
    mapped_task_ids: frozenset[str] = frozenset()
    """The DAG's mapped tasks: pulling one's XCom gives every instance's value."""

    def xcom_push(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` for this task instance: JSON, or one of the types
        :mod:`engine.authoring.xcomvalues` restores (datetime, tuple, set, dataclass...)."""
        stored = encoded(value, what=f"XCom {key!r} of task {self.task_id!r}")
        self.xcom.set(self.dag_id, self.run_id, self.task_id, key, stored, self.map_index)

    def xcom_pull(
        self,
        task_ids: str | Iterable[str] | None = None,
        dag_id: str | None = None,
        key: str = RETURN_VALUE,
        include_prior_dates: bool = False,
        *,
        map_indexes: int | Iterable[int] | None = None,
        default: Any = None,
        run_id: str | None = None,
    ) -> Any:
        """Airflow 3's ``xcom_pull`` (see :func:`engine.execution.xcoms.pull` for the shapes
        of what it returns); ``default`` stands for a value that is absent."""
        dag_id = dag_id or self.dag_id
        request = PullRequest(
            dag_id=dag_id,
            run_id=run_id or self.run_id,
            key=key,
            include_prior_dates=include_prior_dates,
            default=default,
            mapped_task_ids=self.mapped_task_ids if dag_id == self.dag_id else frozenset(),
        )
        return pull(self.xcom, request, self.task_id if task_ids is None else task_ids, map_indexes)


def build_context(
    *,
    dag: DAG,
    task: BaseOperator,
    run: RunInfo,
    ti: TaskInstanceHandle,
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """The template and callable context, with Airflow's names."""
    return {
        "task": task,
        "ti": ti,
        "task_instance": ti,
        "map_index": ti.map_index,
        **run_context(dag, run, params),
    }


def build_dag_context(
    *, dag: DAG, run: RunInfo, params: Mapping[str, Any], reason: str
) -> dict[str, Any]:
    """What a DAG's ``on_success_callback`` / ``on_failure_callback`` receives: the run's
    context and ``reason`` (``success``, ``task_failure`` or ``timed_out``)."""
    return {**run_context(dag, run, params), "reason": reason}


def run_context(dag: DAG, run: RunInfo, params: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a context every task of the run shares."""
    logical = run.logical_date
    return {
        "dag": dag,
        "dag_run": run,
        "run_id": run.run_id,
        "logical_date": logical,
        "ds": logical.strftime("%Y-%m-%d"),
        "ds_nodash": logical.strftime("%Y%m%d"),
        "ts": logical.isoformat(),
        "ts_nodash": logical.strftime("%Y%m%dT%H%M%S"),
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "params": dict(params),
        "conf": dict(run.conf),
        "macros": {**BUILTIN_MACROS, **active_plugins().macros},
    }
