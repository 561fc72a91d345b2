"""An example plugin: a macro, a template filter, a listener and a UI link.

Loom loads every ``*.py`` of ``core.plugins_folder`` (``./plugins`` by default) in each
process that runs DAG code. In a templated field::

    bash_command="echo {{ macros.example.days_between(ds, '2024-01-01') }} {{ params.who | shout }}"

See docs/plugins.md.
"""

from __future__ import annotations

import logging
from datetime import date

from engine import LoomPlugin
from engine.plugins import TaskInstanceEvent, UiLink

logger = logging.getLogger(__name__)


def days_between(first: str, second: str) -> int:
    """Whole days from ``second`` to ``first`` (dates as ``YYYY-MM-DD``, such as ``ds``)."""
    return (date.fromisoformat(first) - date.fromisoformat(second)).days


def shout(value: object) -> str:
    """The ``shout`` filter: the value in capitals, with an exclamation mark."""
    return f"{str(value).upper()}!"


class FailureLogger:
    """Logs every failed try, in the process that ran it."""

    def on_task_instance_failed(self, event: TaskInstanceEvent) -> None:
        logger.warning(
            "%s.%s.%s try %s ended %s: %s",
            event.dag_id, event.run_id, event.task_id, event.try_number, event.state, event.error,
        )  # fmt: skip


class ExamplePlugin(LoomPlugin):
    name = "example"
    macros = (days_between,)
    template_filters = {"shout": shout}  # noqa: RUF012 - read once, when the plugin loads
    listeners = (FailureLogger(),)
    ui_links = (UiLink("Loom docs", "https://github.com/"),)
