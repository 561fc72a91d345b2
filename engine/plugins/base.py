"""What a plugin file declares: a :class:`LoomPlugin` subclass that lists what it adds.

A plugin is deployment code, installed by whoever runs Loom (unlike DAG files, which any
DAG author may change). Its class attributes are plain data, checked when the file is
loaded (see :mod:`engine.plugins.loading`)::

    class OpsPlugin(LoomPlugin):
        name = "ops"
        macros = [business_day]               # {{ macros.ops.business_day(ds) }}
        template_filters = {"shout": shout}   # {{ params.who | shout }}
        listeners = [AuditListener()]         # on_task_instance_success(event), ...
        ui_links = [UiLink("Runbook", "https://wiki.example.com/runbook")]

This module imports nothing heavy: DAG files and the authoring API may import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

LISTENER_HOOKS = (
    "on_task_instance_running",
    "on_task_instance_success",
    "on_task_instance_failed",
    "on_task_instance_skipped",
)
"""The methods a listener may define; each is called with one :class:`TaskInstanceEvent`."""


@dataclass(frozen=True)
class UiLink:
    """An extra link in the web UI's navigation bar."""

    name: str
    """The link's text."""
    href: str
    """Where it leads: an ``http://`` or ``https://`` URL, or a path starting with ``/``."""


@dataclass(frozen=True)
class TaskInstanceEvent:
    """What a listener hears about a task instance whose try changed state (committed)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    """Which instance of a mapped task; -1 when the task is not mapped."""
    try_number: int
    state: str
    """The state the try is in now: running, success, failed, up_for_retry or skipped."""
    previous_state: str
    error: str | None = None
    """``Type: message`` of a failed try (states failed and up_for_retry)."""


class LoomPlugin:
    """Base class of plugins: subclass it in a file of ``core.plugins_folder``.

    Every attribute is optional except ``name``; an attribute Loom does not know (such as
    Airflow's ``flask_blueprints``) is an error that names it.
    """

    name: ClassVar[str] = ""
    """Unique name; template macros are reached as ``macros.<name>.<function name>``."""
    operators: ClassVar[Sequence[type[Any]]] = ()
    """Operator classes (``BaseOperator`` subclasses) the plugin provides. DAG files import
    them from the plugin's module (``from my_plugin import MyOperator``), as in Airflow 2+."""
    macros: ClassVar[Sequence[Callable[..., Any]]] = ()
    """Functions offered to templates as ``macros.<plugin name>.<function name>``."""
    template_filters: ClassVar[Mapping[str, Callable[..., Any]]] = MappingProxyType({})
    """Jinja filters by name, usable in every templated field: ``{{ value | name }}``."""
    timetables: ClassVar[Sequence[type[Any]]] = ()
    """Timetable classes whose instances DAGs may pass as ``schedule=``."""
    listeners: ClassVar[Sequence[object]] = ()
    """Objects (or modules) with some of the methods in :data:`LISTENER_HOOKS`."""
    ui_links: ClassVar[Sequence[UiLink | Mapping[str, str]]] = ()
    """Extra navigation links of the web UI: :class:`UiLink` or ``{"name": .., "href": ..}``."""


AirflowPlugin = LoomPlugin
"""Airflow's name for the same base class, so that a ported plugin keeps its spelling."""

PLUGIN_ATTRIBUTES = ("name", "operators", "macros", "template_filters", "timetables",
                     "listeners", "ui_links")  # fmt: skip
"""The class attributes a plugin may set."""
