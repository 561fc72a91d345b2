"""Writing events: one function per cause, called inside the transaction of the change.

Each function decides from the serialized task or DAG whether anyone wants the event
(:mod:`engine.delivery.notifications.routing`) and, if so, writes one outbox row of kind
``notification`` carrying the event and its route. No I/O and no configuration: the
state change stays as fast as before, and its rollback takes the event with it. The
callers' compare-and-set guarantees one event per change; the notifier does the rest.

Outbox payload::

    {"event": {...event document, see events.Event.to_dict...},
     "route": {"email": [...] | null, "notify": [...] | null}}
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG, SerializedTask
from engine.delivery.notifications.events import Event, EventType
from engine.delivery.notifications.routing import Route, run_route, task_route
from engine.delivery.outbox import enqueue
from engine.models import DagRun, OutboxKind, TaskInstance
from engine.state import DagRunState, TaskInstanceState

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
"""An event carries at most this many characters of an error message (the log has all)."""


def task_retrying(
    *,
    session: Session,
    ti: TaskInstance,
    task: SerializedTask,
    error_type: str,
    message: str,
    now: datetime,
) -> None:
    """A try failed and ``ti`` will be tried again."""
    _task_event(session, EventType.TASK_RETRYING, ti, task, now, error=_error(error_type, message))


def task_failed(
    *,
    session: Session,
    ti: TaskInstance,
    task: SerializedTask,
    error_type: str,
    message: str,
    dead_letter_id: int,
    now: datetime,
) -> None:
    """``ti`` failed for good, and its failure was parked as dead letter ``dead_letter_id``:
    ``task.failed`` then ``dead_letter.created``."""
    error = _error(error_type, message)
    _task_event(session, EventType.TASK_FAILED, ti, task, now, error=error)
    _task_event(
        session, EventType.DEAD_LETTER_CREATED, ti, task, now,
        error=error, dead_letter_id=dead_letter_id,
    )  # fmt: skip


def task_succeeded(
    *, session: Session, ti: TaskInstance, task: SerializedTask, now: datetime
) -> None:
    """``ti`` succeeded; written only when the task opted in (nothing to write otherwise)."""
    _task_event(session, EventType.TASK_SUCCEEDED, ti, task, now)


MARKED_FAILED = ("MarkedFailed", "marked failed by hand")
"""The error an event of a task or run marked failed by a person carries."""


def task_marked(*, session: Session, ti: TaskInstance, task: SerializedTask, now: datetime) -> None:
    """A person marked ``ti`` (now in its new state): ``task.failed`` for failed, and
    ``task.succeeded`` (opt-in) for success, as if it had ended so; skipped tells no one.
    No ``dead_letter.created``: nothing is parked for a failure a person decided."""
    if ti.state is TaskInstanceState.FAILED:
        _task_event(session, EventType.TASK_FAILED, ti, task, now, error=_error(*MARKED_FAILED))
    elif ti.state is TaskInstanceState.SUCCESS:
        _task_event(session, EventType.TASK_SUCCEEDED, ti, task, now)


def task_deadline_missed(
    *,
    session: Session,
    ti: TaskInstance,
    dag_run: DagRun,
    task: SerializedTask,
    deadline: timedelta,
    due_at: datetime,
    now: datetime,
) -> None:
    """``ti`` had not finished ``deadline`` after its run started."""
    _task_event(
        session, EventType.TASK_DEADLINE_MISSED, ti, task, now,
        deadline=_deadline(deadline, due_at), dag_run=dag_run,
    )  # fmt: skip


def dag_run_finished(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    state: DagRunState,
    now: datetime,
    error: tuple[str, str] | None = None,
) -> None:
    """``dag_run`` ended ``success`` or ``failed`` (``error``: why, when Loom knows)."""
    if state is DagRunState.SUCCESS:
        event_type = EventType.DAG_RUN_SUCCEEDED
    elif state is DagRunState.FAILED:
        event_type = EventType.DAG_RUN_FAILED
    else:
        raise ValueError(f"a dag run finishes as success or failed, not {state}")
    _run_event(session, event_type, dag_run, dag, now, error=_error(*error) if error else None)


def dag_run_deadline_missed(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    deadline: timedelta,
    due_at: datetime,
    now: datetime,
) -> None:
    """``dag_run`` was still running ``deadline`` after it started."""
    _run_event(
        session, EventType.DAG_RUN_DEADLINE_MISSED, dag_run, dag, now,
        deadline=_deadline(deadline, due_at),
    )  # fmt: skip


# -- building and writing ---------------------------------------------------------------


def _task_event(
    session: Session,
    event_type: EventType,
    ti: TaskInstance,
    task: SerializedTask,
    now: datetime,
    *,
    dag_run: DagRun | None = None,
    error: dict[str, str] | None = None,
    deadline: dict[str, object] | None = None,
    dead_letter_id: int | None = None,
) -> None:
    route = task_route(task, event_type)
    if route is None:
        return
    event = _event(
        event_type,
        dag_run or ti.dag_run,
        now,
        ti.state.value,
        task_id=ti.task_id,
        try_number=ti.try_number,
        max_tries=ti.max_tries,
        error=error,
        deadline=deadline,
        dead_letter_id=dead_letter_id,
    )
    _write(session, event, route, now)


def _run_event(
    session: Session,
    event_type: EventType,
    dag_run: DagRun,
    dag: SerializedDAG,
    now: datetime,
    *,
    error: dict[str, str] | None = None,
    deadline: dict[str, object] | None = None,
) -> None:
    route = run_route(dag, event_type)
    if route is None:
        return
    state = DagRunState.RUNNING if event_type is EventType.DAG_RUN_DEADLINE_MISSED else None
    state_value = (state or _finished_state(event_type)).value
    event = _event(event_type, dag_run, now, state_value, error=error, deadline=deadline)
    _write(session, event, route, now)


def _event(event_type: EventType, run: DagRun, now: datetime, state: str, **details: Any) -> Event:
    """An event about ``run``, or (``details`` naming it) one of its task instances."""
    return Event(
        event_type=event_type,
        occurred_at=now,
        dag_id=run.dag_id,
        run_id=run.run_id,
        logical_date=run.logical_date,
        run_started_at=run.start_date,
        state=state,
        **details,
    )


def _finished_state(event_type: EventType) -> DagRunState:
    succeeded = event_type is EventType.DAG_RUN_SUCCEEDED
    return DagRunState.SUCCESS if succeeded else DagRunState.FAILED


def _write(session: Session, event: Event, route: Route, now: datetime) -> None:
    enqueue(
        session=session,
        kind=OutboxKind.NOTIFICATION,
        payload={"event": event.to_dict(), "route": route.to_dict()},
        dedup_key=None,  # the caller's compare-and-set already makes the change happen once
        now=now,
    )
    logger.info(
        "event %s %s for %s.%s%s", event.event_id, event.event_type, event.dag_id,
        event.run_id, f".{event.task_id}" if event.task_id else "",
    )  # fmt: skip


def _error(error_type: str, message: str) -> dict[str, str]:
    return {"type": error_type, "message": message[:MAX_MESSAGE_CHARS]}


def _deadline(deadline: timedelta, due_at: datetime) -> dict[str, object]:
    return {"after_seconds": deadline.total_seconds(), "due_at": due_at.isoformat()}
