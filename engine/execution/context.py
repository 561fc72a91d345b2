"""The context a running task sees: dates, run, params, and its XCom handle (``ti``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from engine.plugins.registry import active_plugins

if TYPE_CHECKING:
    from engine.authoring.baseoperator import BaseOperator
    from engine.authoring.dag import DAG

RETURN_VALUE = "return_value"

BUILTIN_MACROS: dict[str, Any] = {"datetime": datetime, "timedelta": timedelta, "json": json}
"""``macros.<name>`` in templates; plugins add ``macros.<plugin name>`` beside these."""


class XComStore(Protocol):
    """Where XCom values live: memory for ``dags test``, the database for workers."""

    def get(self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> Any:
        """The stored value; ``None`` when there is none."""
        ...

    def get_mapped(self, dag_id: str, run_id: str, task_id: str, key: str) -> Sequence[Any]:
        """The values of every instance of a mapped task, by ``map_index`` (lazily)."""
        ...

    def set(
        self, dag_id: str, run_id: str, task_id: str, key: str, value: Any, map_index: int = -1
    ) -> None: ...


@dataclass
class MemoryXComStore:
    """XCom values in a dict, for in-process runs."""

    values: dict[tuple[str, str, str, str, int], Any] = field(default_factory=dict)

    def get(self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> Any:
        return self.values.get((dag_id, run_id, task_id, key, map_index))

    def get_mapped(self, dag_id: str, run_id: str, task_id: str, key: str) -> Sequence[Any]:
        found = [
            (k[4], v) for k, v in self.values.items() if k[:4] == (dag_id, run_id, task_id, key)
        ]
        return [v for index, v in sorted(found) if index >= 0]

    def set(
        self, dag_id: str, run_id: str, task_id: str, key: str, value: Any, map_index: int = -1
    ) -> None:
        self.values[(dag_id, run_id, task_id, key, map_index)] = value


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
    group_task_ids: frozenset[str] = frozenset()
    """The tasks of this task's mapped task group: pulling one's XCom gives the value of
    its instance of the same map index."""

    def xcom_push(self, key: str, value: Any) -> None:
        """Store ``value`` (it must be JSON-serializable) under ``key`` for this task."""
        ensure_json(value, what=f"XCom {key!r} of task {self.task_id!r}")
        self.xcom.set(self.dag_id, self.run_id, self.task_id, key, value, self.map_index)

    def xcom_pull(
        self, task_ids: str | Iterable[str] | None = None, key: str = RETURN_VALUE
    ) -> Any:
        """One task's value, or a list for several task ids (``None`` where absent)."""
        if task_ids is None:
            task_ids = self.task_id
        if isinstance(task_ids, str):
            return self._pull(task_ids, key)
        return [self._pull(tid, key) for tid in task_ids]

    def _pull(self, task_id: str, key: str) -> Any:
        if task_id in self.group_task_ids and self.map_index >= 0:
            return self.xcom.get(self.dag_id, self.run_id, task_id, key, self.map_index)
        if task_id in self.mapped_task_ids:
            return self.xcom.get_mapped(self.dag_id, self.run_id, task_id, key)
        return self.xcom.get(self.dag_id, self.run_id, task_id, key)


def ensure_json(value: Any, *, what: str) -> None:
    """Raise ``TypeError`` naming ``what`` unless ``value`` survives a JSON round trip."""
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{what} must be JSON-serializable; got {type(value).__name__}: {exc}"
        ) from None


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
