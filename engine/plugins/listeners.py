"""Telling plugins' listeners that a task instance's try changed state.

Called by the process that runs the try, after the change is committed. A listener is
an observer: whatever it raises is logged with its traceback and changes nothing of the
try, its state or the calls to the other listeners.
"""

from __future__ import annotations

import logging

from engine.plugins.base import TaskInstanceEvent
from engine.plugins.registry import PluginRegistry, active_plugins

logger = logging.getLogger(__name__)

HOOK_OF_STATE = {
    "running": "on_task_instance_running",
    "success": "on_task_instance_success",
    "failed": "on_task_instance_failed",
    "up_for_retry": "on_task_instance_failed",
    "skipped": "on_task_instance_skipped",
}
"""Which hook hears of which state; a failed try that will be retried is a failure too."""


def notify_listeners(event: TaskInstanceEvent, *, plugins: PluginRegistry | None = None) -> None:
    """Call every listener's hook for ``event.state`` with ``event``."""
    hook_name = HOOK_OF_STATE.get(event.state)
    if hook_name is None:
        return
    for listener in (plugins or active_plugins()).listeners:
        hook = getattr(listener, hook_name, None)
        if hook is None:
            continue
        try:
            hook(event)
        except Exception:
            logger.exception(
                "listener %r raised in %s for %s.%s.%s try %s; the try is unaffected",
                listener, hook_name, event.dag_id, event.run_id, event.task_id,
                event.try_number,
            )  # fmt: skip
