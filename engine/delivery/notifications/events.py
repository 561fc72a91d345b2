"""What Loom tells people about: the event types and the event document (schema version 1).

An :class:`Event` is built inside the transaction of the state change that causes it
(see :mod:`engine.delivery.notifications.emit`) and travels as JSON: through the outbox, onto
each delivery row, and as the body of every webhook request. Its ``event_id`` (a UUID)
names it everywhere: the webhook's idempotency key and the e-mail's ``Message-ID`` are
derived from it, so a receiver can drop a repeated delivery.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

SCHEMA_VERSION = 1
"""Version of the event document; a receiver should check it before reading the rest."""


class EventType(StrEnum):
    """Why an event was sent. Values are the names used in ``webhooks.<name>.events``."""

    TASK_FAILED = "task.failed"
    """A task instance failed for good (no tries left, or it raised ``FailTask``)."""
    TASK_RETRYING = "task.retrying"
    """A try failed and the task instance will be tried again (``up_for_retry``)."""
    TASK_SUCCEEDED = "task.succeeded"
    """A task instance succeeded (opt-in: ``email_on_success`` / ``notify_on_success``)."""
    TASK_DEADLINE_MISSED = "task.deadline_missed"
    """A task instance had not finished ``deadline`` after its run started."""
    DAG_RUN_FAILED = "dag_run.failed"
    """A dag run ended failed (a task failed, or it ran past ``dagrun_timeout``)."""
    DAG_RUN_SUCCEEDED = "dag_run.succeeded"
    """A dag run ended successfully (opt-in on the DAG)."""
    DAG_RUN_DEADLINE_MISSED = "dag_run.deadline_missed"
    """A dag run was still running ``deadline`` after it started."""
    DEAD_LETTER_CREATED = "dead_letter.created"
    """A task instance's final failure was parked as a dead letter (webhooks only: the
    ``task.failed`` e-mail already tells people about the same failure)."""


TASK_EVENTS: frozenset[EventType] = frozenset(
    {
        EventType.TASK_FAILED,
        EventType.TASK_RETRYING,
        EventType.TASK_SUCCEEDED,
        EventType.TASK_DEADLINE_MISSED,
        EventType.DEAD_LETTER_CREATED,
    }
)
"""Events about one task instance; the others are about a whole dag run."""


@dataclass(frozen=True)
class Event:
    """One event, as every channel sends it. ``to_dict`` is the documented JSON."""

    event_type: EventType
    occurred_at: datetime
    dag_id: str
    run_id: str
    logical_date: datetime | None
    run_started_at: datetime | None
    state: str
    """The task instance's or dag run's state after the change (``failed``, ...)."""
    task_id: str | None = None
    try_number: int | None = None
    max_tries: int | None = None
    error: dict[str, str] | None = None
    """``{"type": ..., "message": ...}`` of a failed try; None otherwise."""
    deadline: dict[str, object] | None = None
    """``{"after_seconds": ..., "due_at": ...}`` of a missed deadline; None otherwise."""
    dead_letter_id: int | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON data, without links (the notifier adds ``url``)."""
        data = asdict(self)
        data["event_type"] = self.event_type.value
        for name in ("occurred_at", "logical_date", "run_started_at"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return {"schema_version": SCHEMA_VERSION, **data}


def event_url(base_url: str, event: dict[str, Any]) -> str:
    """The web UI page of the event's task instance, or of its dag run."""
    path = f"/dags/{_segment(event['dag_id'])}/runs/{_segment(event['run_id'])}"
    if event.get("task_id"):
        path += f"/tasks/{_segment(event['task_id'])}"
    return base_url.rstrip("/") + path


def with_url(base_url: str, event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with its ``url``: what deliveries carry and webhooks send."""
    return {**event, "url": event_url(base_url, event)}


def _segment(value: str) -> str:
    # Run ids hold ":" and "+"; quoting every reserved character keeps the path unambiguous.
    return quote(str(value), safe="")
