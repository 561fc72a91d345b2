"""DAGs as JSON: what the scheduler and the webserver read instead of importing user code.

:class:`SerializedDAG` carries everything but the code itself (callables become names,
callbacks become flags). ``SerializedDAG.from_dict(d).to_dict() == d`` for every ``d``
this module writes; the ``version`` key lets a later Loom read what an earlier one wrote.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from engine.authoring.expansion import is_group_spec
from engine.authoring.params import Param
from engine.authoring.tasksettings import (
    CALLBACK_KINDS,
    SERIALIZED_SETTINGS,
    SerializedSettingValues,
)
from engine.authoring.templating import Reference
from engine.authoring.timetables.serialized import deserialize_schedule, serialize_schedule
from engine.authoring.weights import effective_weights

if TYPE_CHECKING:
    # The parse direction (DAG, BaseOperator, TaskGroup) and what reading a DAG builds on
    # first use: reading a serialized DAG needs neither the authoring API nor trigger rules.
    from engine.authoring.baseoperator import BaseOperator
    from engine.authoring.dag import DAG
    from engine.authoring.setupteardown_rules import SetupTeardownIndex
    from engine.authoring.taskgroup import TaskGroup
    from engine.authoring.timetables.base import Timetable as Schedule

SERIALIZATION_VERSION = 1

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def to_jsonable(value: Any) -> Any:
    """A JSON-safe picture of an operator field, for display (not for re-running)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # JSON has no NaN or infinity
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Reference) and hasattr(value, "serialize"):
        return value.serialize()
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    # Without the memory address, so that the DAG's hash is stable from parse to parse.
    return _ADDRESS.sub("", repr(value))


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _delta(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


def _date(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


_REQUIRED: Any = object()
"""``_Field.missing`` of a key every serialized DAG has."""


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class _Field:
    """How one serialized field is written as JSON and read back."""

    dump: Callable[[Any], Any] = _same
    load: Callable[[Any], Any] = _same
    missing: Any = _REQUIRED
    """What a DAG serialized before the field existed means by it (read until reparsed)."""
    take: Callable[[Any], Any] = _same
    """The field's value from the DAG's attribute of the same name."""
    written_when_set: bool = False
    """Written only when it differs from ``missing``: a field added later that leaves
    the dict (and the DAG's hash) of a record that does not use it unchanged."""

    def read(self, data: dict[str, Any], name: str) -> Any:
        if name not in data and self.missing is not _REQUIRED:
            return self.missing
        return self.load(data[name])


_AS_IS = _Field()
_NAMES = _Field(dump=list, load=tuple, take=tuple)
_DATE = _Field(dump=_iso, load=_date)
_DURATION = _Field(dump=_seconds, load=_delta)


def _dump(fields: dict[str, _Field], record: Any) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in fields}
    return {
        name: field.dump(values[name])
        for name, field in fields.items()
        if not (field.written_when_set and values[name] == field.missing)
    }


def _load(fields: dict[str, _Field], data: dict[str, Any]) -> dict[str, Any]:
    return {name: field.read(data, name) for name, field in fields.items()}


@dataclass(frozen=True)
class SerializedTask(SerializedSettingValues):
    """One task's settings and dependencies, without its code.

    The settings are those of :data:`~engine.authoring.tasksettings.TASK_SETTINGS` that
    are serialized: written and read through the table, typed by
    :class:`~engine.authoring.tasksettings.SerializedSettingValues`.
    """

    task_id: str
    operator: str
    upstream_task_ids: tuple[str, ...]
    downstream_task_ids: tuple[str, ...]
    is_branch: bool
    callbacks: tuple[str, ...]
    """Which callbacks the task has: ``on_success``, ``on_failure``, ``on_retry``,
    ``on_execute``, ``on_skipped``."""
    template_fields: tuple[str, ...]
    fields: dict[str, Any]
    line: int | None
    priority_weight_total: int
    """The weight the scheduler sorts by: ``priority_weight`` added up by ``weight_rule``."""
    task_group_id: str | None
    """The full id of the task group the task is directly in; ``None`` at the DAG's root."""
    settings: Mapping[str, Any] = field(default_factory=dict, hash=False, repr=False)
    """The serialized settings by name; each is also an attribute (typed by the base)."""
    mapped: dict[str, Any] | None = None
    """What a mapped task expands (see :mod:`engine.authoring.expansion`); None: not mapped."""
    template_fields_renderers: dict[str, str] = field(default_factory=dict, hash=False)
    """How the UI shows each rendered field (``bash``, ``sql``, ``json``...)."""
    is_empty: bool = False
    """An EmptyOperator that runs no code: the scheduler may finish it without a worker."""

    def __post_init__(self) -> None:
        for setting in SERIALIZED_SETTINGS:
            object.__setattr__(self, setting.name, self.settings[setting.name])

    @classmethod
    def from_operator(cls, task: BaseOperator, *, weight: int | None = None) -> SerializedTask:
        """``task`` as stored; ``weight`` is its effective priority weight (default: its own,
        as if alone; :meth:`SerializedDAG.from_dag` gives the graph's)."""
        from engine.authoring.expansion import group_spec
        from engine.authoring.mapping import MappedOperator
        from engine.authoring.operators.empty import runs_no_code

        settings = {s.name: s.stored(getattr(task, s.name)) for s in SERIALIZED_SETTINGS}
        mapped = task.expand_input.serialize() if isinstance(task, MappedOperator) else None
        mapped_group = task.task_group.closest_mapped_group() if task.task_group else None
        if mapped_group is not None:
            mapped = group_spec(mapped_group.group_id)
        return cls(
            mapped=to_jsonable(mapped),
            task_id=task.task_id,
            operator=task.operator_name,
            upstream_task_ids=tuple(sorted(task.upstream_task_ids)),
            downstream_task_ids=tuple(sorted(task.downstream_task_ids)),
            is_branch=task.is_branch,
            callbacks=tuple(kind for kind in CALLBACK_KINDS if getattr(task, f"{kind}_callback")),
            template_fields=tuple(task.template_fields),
            fields=to_jsonable(task.serialize_fields()),
            line=task.call_site.line,
            priority_weight_total=task.priority_weight if weight is None else weight,
            task_group_id=task.task_group.group_id if task.task_group else None,
            settings=settings,
            template_fields_renderers={
                str(k): str(v) for k, v in dict(task.template_fields_renderers).items()
            },
            is_empty=runs_no_code(task),
        )

    @property
    def display_name(self) -> str:
        """What the UI shows for the task: its ``task_display_name``, else its id."""
        return self.task_display_name or self.task_id

    @property
    def max_tries(self) -> int:
        """Tries in all: the first one plus the retries."""
        return self.retries + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            **_dump(_TASK_FIELDS, self),
            "priority_weight_total": self.priority_weight_total,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SerializedTask:
        fields = _load(_TASK_FIELDS, data)
        settings = {s.name: fields.pop(s.name) for s in SERIALIZED_SETTINGS}
        # Written since weight rules exist; before, the weight was the task's own.
        total = data.get("priority_weight_total", settings["priority_weight"])
        return cls(**fields, priority_weight_total=total, settings=settings)


_TASK_FIELDS: dict[str, _Field] = {
    "task_id": _AS_IS,
    "operator": _AS_IS,
    "upstream_task_ids": _NAMES,
    "downstream_task_ids": _NAMES,
    "is_branch": _AS_IS,
    "callbacks": _NAMES,
    "template_fields": _NAMES,
    "fields": _AS_IS,
    "line": _AS_IS,
    "task_group_id": _Field(missing=None),  # None before task groups existed
    "mapped": _Field(missing=None, written_when_set=True),
    "template_fields_renderers": _Field(missing={}, written_when_set=True),
    "is_empty": _Field(missing=False, written_when_set=True),
    **{
        s.name: _Field(
            s.kind.dump, s.kind.load, s.stored_default(), written_when_set=s.written_when_set
        )
        for s in SERIALIZED_SETTINGS
    },
}
"""Every field of :class:`SerializedTask` by name; a DAG serialized before a setting
existed lacks its key until reparsed, and reads as the setting's default."""


@dataclass(frozen=True)
class SerializedTaskGroup:
    """A task group as the UI draws it: its place in the tree and what it holds."""

    group_id: str
    label: str
    tooltip: str
    prefix_group_id: bool
    parent_group_id: str | None
    """``None`` for a group at the DAG's root."""
    children: tuple[str, ...]
    """Full ids of its tasks and subgroups, in the order they were added."""
    mapped: dict[str, Any] | None = None
    """A mapped group's expansion (an expand spec of :mod:`engine.authoring.expansion`)."""

    @classmethod
    def tree_of(cls, root: TaskGroup) -> dict[str, SerializedTaskGroup]:
        """Every group under ``root`` (parents before children), by full id."""
        from engine.authoring.mappedgroup import MappedTaskGroup

        found: dict[str, SerializedTaskGroup] = {}
        for group_id, group in root.get_task_group_dict().items():
            parent = group.parent_group
            found[group_id] = cls(
                group_id=group_id,
                label=group.label or group_id,
                tooltip=group.tooltip,
                prefix_group_id=group.prefix_group_id,
                parent_group_id=parent.group_id if parent else None,
                children=tuple(group.children),
                mapped=(
                    to_jsonable(group.expand_input.serialize())
                    if isinstance(group, MappedTaskGroup)
                    else None
                ),
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        data = {**asdict(self), "children": list(self.children)}
        if self.mapped is None:  # an unmapped group's dict (and its DAG's hash) is unchanged
            del data["mapped"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SerializedTaskGroup:
        return cls(**{**data, "children": tuple(data["children"])})


@dataclass(frozen=True)
class SerializedDAG:
    """A DAG as the scheduler and the webserver see it: settings and graph, no code."""

    dag_id: str
    fileloc: str
    description: str | None
    doc_md: str | None
    owner: str
    tags: tuple[str, ...]
    schedule: Schedule
    timezone: str
    start_date: datetime | None
    end_date: datetime | None
    catchup: bool
    max_active_runs: int
    max_active_tasks: int
    dagrun_timeout: timedelta | None
    is_paused_upon_creation: bool
    params: dict[str, Param]
    callbacks: tuple[str, ...]
    tasks: dict[str, SerializedTask]
    email: tuple[str, ...] = ()
    email_on_failure: bool = True
    email_on_success: bool = False
    notify: tuple[str, ...] = ()
    notify_on_success: bool = False
    deadline: timedelta | None = None
    dag_display_name: str | None = None
    owner_links: dict[str, str] = field(default_factory=dict)
    """A link per owner name (http(s) or mailto)."""
    fail_fast: bool = False
    max_consecutive_failed_dag_runs: int | None = None
    """None: the configured ``core.max_consecutive_failed_dag_runs_per_dag``; 0: never."""
    task_groups: dict[str, SerializedTaskGroup] = field(default_factory=dict)
    """Every task group, parents first, by full id (empty for a DAG without groups)."""
    edge_info: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    """Edge labels, ``{upstream_id: {downstream_id: {"label": ...}}}`` (ids may be a
    group's join ids, ``g.upstream_join_id`` / ``g.downstream_join_id``)."""

    @classmethod
    def from_dag(cls, dag: DAG) -> SerializedDAG:
        weights = effective_weights(dag.task_dict)
        settings = {name: field.take(getattr(dag, name)) for name, field in _DAG_SETTINGS.items()}
        return cls(
            **settings,
            callbacks=tuple(
                kind for kind in ("on_success", "on_failure") if getattr(dag, f"{kind}_callback")
            ),
            tasks={
                t.task_id: SerializedTask.from_operator(t, weight=weights[t.task_id])
                for t in dag.tasks
            },
            task_groups=SerializedTaskGroup.tree_of(dag.task_group),
            edge_info={up: dict(downs) for up, downs in dag.edge_info.items()},
        )

    @property
    def display_name(self) -> str:
        """What the UI shows for the DAG: its ``dag_display_name``, else its id."""
        return self.dag_display_name or self.dag_id

    def group_path(self, node_id: str) -> tuple[str, ...]:
        """The ids of the groups a task or group is in, outermost first."""
        path: list[str] = []
        task = self.tasks.get(node_id)
        group_id = task.task_group_id if task else self.task_groups[node_id].parent_group_id
        while group_id is not None:
            path.append(group_id)
            group_id = self.task_groups[group_id].parent_group_id
        return tuple(reversed(path))

    def edge_label(self, upstream_id: str, downstream_id: str) -> str | None:
        return self.edge_info.get(upstream_id, {}).get(downstream_id, {}).get("label")

    @property
    def edges(self) -> list[tuple[str, str]]:
        return sorted((up, t.task_id) for t in self.tasks.values() for up in t.upstream_task_ids)

    @property
    def leaves(self) -> list[str]:
        return [t.task_id for t in self.tasks.values() if not t.downstream_task_ids]

    @cached_property
    def mapped_groups(self) -> dict[str, str]:
        """The mapped task group of each task expanded with one, by task id."""
        return {
            task_id: task.mapped["group_id"]
            for task_id, task in self.tasks.items()
            if task.mapped is not None and is_group_spec(task.mapped)
        }

    def same_mapped_group(self, task_id: str) -> frozenset[str]:
        """The tasks of the mapped group ``task_id`` is expanded with (empty if none)."""
        group_id = self.mapped_groups.get(task_id)
        if group_id is None:
            return frozenset()
        return frozenset(t for t, g in self.mapped_groups.items() if g == group_id)

    def expansion_of(self, task_id: str) -> dict[str, Any] | None:
        """What a mapped task expands over (its group's expansion for a task of a mapped
        group); None for a task that is not mapped."""
        group_id = self.mapped_groups.get(task_id)
        if group_id is not None:
            return self.task_groups[group_id].mapped
        return self.tasks[task_id].mapped

    @cached_property
    def setups_and_teardowns(self) -> SetupTeardownIndex:
        """Setup and teardown rules over this DAG's tasks (built once)."""
        # Here, not at the top: reading a DAG to trigger or list it needs no trigger rules.
        from engine.authoring.setupteardown_rules import SetupTeardownIndex

        return SetupTeardownIndex(self.tasks)

    @cached_property
    def order(self) -> tuple[str, ...]:
        """Task ids in DAG order (see :func:`dag_order`).

        Cached: the scheduler walks this order for every running run on every tick.
        """
        return dag_order({task_id: t.upstream_task_ids for task_id, t in self.tasks.items()})

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SERIALIZATION_VERSION,
            **_dump(_DAG_FIELDS, self),
            "schedule_display": self.schedule.summary,
            "schedule_description": self.schedule.description,
            "tasks": [t.to_dict() for t in self.tasks.values()],
            "edges": [list(edge) for edge in self.edges],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SerializedDAG:
        if data.get("version") != SERIALIZATION_VERSION:
            raise ValueError(f"unsupported serialized DAG version {data.get('version')!r}")
        return cls(
            **_load(_DAG_FIELDS, data),
            tasks={t["task_id"]: SerializedTask.from_dict(t) for t in data["tasks"]},
        )


_DAG_SETTINGS: dict[str, _Field] = {
    "dag_id": _AS_IS,
    "fileloc": _AS_IS,
    "description": _AS_IS,
    "doc_md": _AS_IS,
    "owner": _AS_IS,
    "tags": _NAMES,
    "timezone": _AS_IS,
    "start_date": _DATE,
    "end_date": _DATE,
    "catchup": _AS_IS,
    "max_active_runs": _AS_IS,
    "max_active_tasks": _AS_IS,
    "dagrun_timeout": _DURATION,
    "is_paused_upon_creation": _AS_IS,
    "schedule": _Field(serialize_schedule, deserialize_schedule),
    "params": _Field(
        lambda params: {name: p.serialize() for name, p in params.items()},
        lambda data: {name: Param.deserialize(p) for name, p in data.items()},
        take=dict,
    ),
    # Alerts came later: a DAG serialized before them lacks these keys until reparsed.
    "email": replace(_NAMES, missing=()),
    "email_on_failure": _Field(missing=True),
    "email_on_success": _Field(missing=False),
    "notify": replace(_NAMES, missing=()),
    "notify_on_success": _Field(missing=False),
    "deadline": _Field(_seconds, _delta, missing=None),
    # Issue 16's DAG arguments: absent from a DAG serialized before them, until reparsed.
    "dag_display_name": _Field(missing=None),
    "owner_links": _Field(missing={}, take=dict),
    "fail_fast": _Field(missing=False),
    "max_consecutive_failed_dag_runs": _Field(missing=None),
}
"""The fields :class:`SerializedDAG` takes by name from the :class:`DAG`."""

_DAG_FIELDS: dict[str, _Field] = {
    **_DAG_SETTINGS,
    "callbacks": _NAMES,
    # Task groups and labels came later: a DAG serialized before them has neither.
    "task_groups": _Field(
        lambda groups: [group.to_dict() for group in groups.values()],
        lambda data: {g["group_id"]: SerializedTaskGroup.from_dict(g) for g in data},
        missing={},
    ),
    "edge_info": _Field(missing={}),
}
"""Every field of :class:`SerializedDAG` but ``tasks`` (written as a list)."""


def dag_order(upstream: Mapping[str, Collection[str]]) -> tuple[str, ...]:
    """Task ids in DAG order: each after all of its upstream tasks, ties broken by the
    order the file declared them in (``upstream``'s order: a DAG's ``task_dict`` and a
    serialized DAG's ``tasks`` keep it). The one order of tasks for every listing (grid,
    API, CLI, ``loom dags test``). Tasks on a cycle are left out (a valid DAG has none).
    """
    declared = {task_id: index for index, task_id in enumerate(upstream)}
    pending = {task_id: len(ups) for task_id, ups in upstream.items()}
    downstream: dict[str, list[str]] = {task_id: [] for task_id in upstream}
    for task_id, ups in upstream.items():
        for up in ups:
            downstream.setdefault(up, []).append(task_id)
    ready = [(declared[task_id], task_id) for task_id, count in pending.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, task_id = heapq.heappop(ready)
        order.append(task_id)
        for child in downstream.get(task_id, ()):
            pending[child] -= 1
            if pending[child] == 0:
                heapq.heappush(ready, (declared[child], child))
    return tuple(order)


def serialize_dag(dag: DAG) -> dict[str, Any]:
    """``dag`` as a JSON-safe dict (see :class:`SerializedDAG`)."""
    return SerializedDAG.from_dag(dag).to_dict()


def dag_hash(data: dict[str, Any]) -> str:
    """A stable fingerprint of a serialized DAG: equal exactly when the content is equal."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
