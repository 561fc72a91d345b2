"""The context a running task sees: dates, run, params, and its XCom handle (``ti``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pendulum
from lazy_object_proxy import Proxy

from engine.authoring.macros import macros_namespace
from engine.execution.assets import (
    NO_EVENTS,
    EventReader,
    InletEventAccessors,
    OutletEventAccessors,
)
from engine.execution.secrets import template_namespaces
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
    mapped_task_ids: Container[str] = frozenset()
    """The DAG's mapped tasks: pulling one's XCom gives every instance's value. Only asked
    whether it holds a task (a worker answers from the run's graph, without a copy)."""
    group_task_ids: frozenset[str] = frozenset()
    """The tasks of this task's mapped task group: pulling one's XCom gives the value of
    its instance of the same map index."""
    first_poke_at: datetime | None = None
    """A rescheduling sensor's first poke since it was cleared (None before it): its
    ``timeout`` counts from here."""
    poke_count: int = 0
    """The pokes a rescheduling sensor made before this one."""

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
            same_index_task_ids=self.group_task_ids if dag_id == self.dag_id else frozenset(),
            map_index=self.map_index,
        )
        return pull(self.xcom, request, self.task_id if task_ids is None else task_ids, map_indexes)


@dataclass(frozen=True)
class PreviousRun:
    """What the context shows of the run's previous successful run (``prev_*_success``)."""

    data_interval_start: datetime | None
    data_interval_end: datetime | None
    start_date: datetime | None
    end_date: datetime | None


PreviousLookup = Callable[[], PreviousRun | None]
"""Finds the previous successful run; called at most once, and only when a task reads one
of the ``prev_*_success`` keys."""


def build_context(
    *,
    dag: DAG,
    task: BaseOperator,
    run: RunInfo,
    ti: TaskInstanceHandle,
    params: Mapping[str, Any],
    previous_success: PreviousLookup | None = None,
    asset_events: EventReader = NO_EVENTS,
) -> dict[str, Any]:
    """The template and callable context, with Airflow 3's names (a worker reads asset
    events from the database; without ``asset_events`` there are none)."""
    return {
        "task": task,
        "ti": ti,
        "task_instance": ti,
        "map_index": ti.map_index,
        "task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{_ds_nodash(run)}",
        **run_context(dag, run, params),
        **previous_success_context(previous_success),
        **asset_context(task, run, asset_events),
    }


def asset_context(task: BaseOperator, run: RunInfo, events: EventReader) -> dict[str, Any]:
    """``outlet_events``, ``inlet_events`` and ``triggering_asset_events`` (read by
    ``events`` the first time a task uses them)."""
    return {
        "outlet_events": OutletEventAccessors(task.outlets),
        "inlet_events": InletEventAccessors(task.inlets, events),
        "triggering_asset_events": Proxy(
            functools.partial(events.triggering, run.dag_id, run.run_id)
        ),
    }


def build_dag_context(
    *, dag: DAG, run: RunInfo, params: Mapping[str, Any], reason: str
) -> dict[str, Any]:
    """What a DAG's ``on_success_callback`` / ``on_failure_callback`` receives: the run's
    context and ``reason`` (``success``, ``task_failure`` or ``timed_out``)."""
    return {**run_context(dag, run, params), "reason": reason}


def run_context(dag: DAG, run: RunInfo, params: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a context every task of the run shares. Dates are pendulum's
    ``DateTime``, as Airflow gives them (``{{ logical_date.add(days=1) }}`` works)."""
    logical = pendulum.instance(run.logical_date)
    ts = logical.isoformat()
    return {
        "dag": dag,
        "dag_run": run,
        "run_id": run.run_id,
        "logical_date": logical,
        "ds": logical.strftime("%Y-%m-%d"),
        "ds_nodash": logical.strftime("%Y%m%d"),
        "ts": ts,
        "ts_nodash": logical.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": ts.replace("-", "").replace(":", ""),
        "data_interval_start": pendulum.instance(run.data_interval_start),
        "data_interval_end": pendulum.instance(run.data_interval_end),
        "params": dict(params),
        "conf": dict(run.conf),
        "macros": macros_namespace(active_plugins().macros),
        **template_namespaces(),
    }


def _ds_nodash(run: RunInfo) -> str:
    return run.logical_date.strftime("%Y%m%d")


PREVIOUS_SUCCESS_KEYS = {
    "prev_data_interval_start_success": "data_interval_start",
    "prev_data_interval_end_success": "data_interval_end",
    "prev_start_date_success": "start_date",
    "prev_end_date_success": "end_date",
}
"""Context key → field of :class:`PreviousRun`."""


def previous_success_context(lookup: PreviousLookup | None) -> dict[str, Any]:
    """The ``prev_*_success`` keys, each a lazy proxy: the previous successful run is looked
    up the first time one of them is used, so a task that uses none pays nothing. Without
    a lookup (``dags test``: there is no earlier run) they are None."""
    if lookup is None:
        return dict.fromkeys(PREVIOUS_SUCCESS_KEYS)
    once = functools.cache(lookup)

    def field_of(name: str) -> Callable[[], Any]:
        def read() -> Any:
            found = once()
            value = None if found is None else getattr(found, name)
            return None if value is None else pendulum.instance(value)

        return read

    return {key: Proxy(field_of(name)) for key, name in PREVIOUS_SUCCESS_KEYS.items()}
