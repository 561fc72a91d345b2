"""Dead letters: task instances that failed for good, parked for a person to act on.

:func:`record_dead_letter` writes the :class:`~engine.models.DeadLetter` row and an outbox
row asking the relay to publish it, both in the caller's transaction. A person then
replays it (:func:`replay_dead_letter`: the task runs again with fresh tries) or discards
it (:func:`discard_dead_letter`); either writes an outbox row asking the relay to remove
the message from RabbitMQ.

Outbox payloads (``kind = dead_letter``)::

    {"action": "publish", "dead_letter_id": 7, "message": {...}}   # message: see below
    {"action": "remove", "dead_letter_id": 7}

The published message (``schema_version`` 1) is :func:`dead_letter_message`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.delivery.outbox import enqueue
from engine.errors import ConflictError, NotFoundError
from engine.models import (
    DagRun,
    DeadLetter,
    DeadLetterState,
    DeliveryStatus,
    OutboxKind,
    OutboxMessage,
    TaskInstance,
)
from engine.services.pagination import Page, order_columns, paginate, within_dags
from engine.services.taskchanges import clear_task_instances
from engine.state import FINISHED
from engine.trykey import try_key

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Version of the published dead-letter message."""

TRACEBACK_TAIL_BYTES = 4096
"""The message carries at most this many bytes of the end of the traceback."""

PUBLISH = "publish"
REMOVE = "remove"


def publish_dedup_key(dead_letter_id: int) -> str:
    """The outbox ``dedup_key`` of the row that publishes dead letter ``dead_letter_id``."""
    return f"dead_letter:{dead_letter_id}"


def remove_dedup_key(dead_letter_id: int) -> str:
    """The outbox ``dedup_key`` of the row that removes it from RabbitMQ again."""
    return f"dead_letter:{dead_letter_id}:remove"


def record_dead_letter(
    *,
    session: Session,
    ti: TaskInstance,
    dag_run: DagRun,
    error_type: str,
    message: str,
    traceback: str | None,
    worker_host: str | None,
    now: datetime,
) -> DeadLetter:
    """Park ``ti``'s final failure as a pending dead letter and enqueue its publication."""
    dead_letter = DeadLetter(
        **try_key(ti),
        state=DeadLetterState.PENDING,
        created_at=now,
        payload={},
    )
    session.add(dead_letter)
    session.flush()
    body = dead_letter_message(
        dead_letter_id=dead_letter.id,
        ti=ti,
        dag_run=dag_run,
        error={"type": error_type, "message": message, "traceback_tail": _tail(traceback)},
        worker_host=worker_host,
        now=now,
    )
    dead_letter.payload = body
    enqueue(
        session=session,
        kind=OutboxKind.DEAD_LETTER,
        payload={"action": PUBLISH, "dead_letter_id": dead_letter.id, "message": body},
        dedup_key=publish_dedup_key(dead_letter.id),
        now=now,
    )
    logger.info(
        "dead letter %s recorded for %s.%s.%s try %s (%s)",
        dead_letter.id, ti.dag_id, ti.run_id, ti.task_id, ti.try_number, error_type,
    )  # fmt: skip
    return dead_letter


def dead_letter_message(
    *,
    dead_letter_id: int,
    ti: TaskInstance,
    dag_run: DagRun,
    error: dict[str, Any],
    worker_host: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The JSON document published to RabbitMQ for one dead letter (schema version 1)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "dead_letter_id": dead_letter_id,
        **try_key(ti),
        "error": error,
        "conf": dict(dag_run.conf or {}),
        "logical_date": _iso(dag_run.logical_date),
        "failed_at": _iso(now),
        "run_started_at": _iso(dag_run.start_date),
        "worker_host": worker_host,
    }


@dataclass(frozen=True)
class DeadLetterFilter:
    """What to keep when listing dead letters; None keeps everything."""

    state: DeadLetterState | None = None
    dag_id: str | None = None
    dag_ids: Collection[str] | None = None
    """Only these DAGs' (a reader limited to some DAGs)."""


DEAD_LETTER_ORDER = order_columns(DeadLetter.id, DeadLetter.created_at, DeadLetter.dag_id)
"""Columns dead letter lists may be ordered by."""


def dead_letter_query(filters: DeadLetterFilter) -> sa.Select[Any]:
    """The dead letters matching ``filters`` (unordered: the caller pages them)."""
    stmt = within_dags(sa.select(DeadLetter), DeadLetter.dag_id, filters.dag_ids)
    if filters.state is not None:
        stmt = stmt.where(DeadLetter.state == filters.state)
    if filters.dag_id is not None:
        stmt = stmt.where(DeadLetter.dag_id == filters.dag_id)
    return stmt


def list_dead_letters(
    *,
    session: Session,
    state: DeadLetterState | None = None,
    dag_ids: Collection[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[DeadLetter]:
    """A page of dead letters, newest first, optionally only those in ``state`` (and of
    ``dag_ids``, a reader's DAGs)."""
    stmt = dead_letter_query(DeadLetterFilter(state=state, dag_ids=dag_ids))
    return paginate(
        session=session, stmt=stmt, order=[DeadLetter.id.desc()], limit=limit, offset=offset
    )


def get_dead_letter(
    *, session: Session, id: int, dag_ids: Collection[str] | None = None
) -> DeadLetter:
    """Dead letter ``id``; :class:`NotFoundError` when there is none, or (with ``dag_ids``,
    a reader's DAGs) when it belongs to another DAG."""
    dead_letter = session.get(DeadLetter, id)
    if dead_letter is None or (dag_ids is not None and dead_letter.dag_id not in dag_ids):
        raise NotFoundError(f"dead letter {id} not found")
    return dead_letter


def replay_dead_letter(*, session: Session, id: int, now: datetime, by: str) -> DeadLetter:
    """Run the dead letter's task again with fresh tries, and resolve the dead letter.

    The task instance and its downstream task instances (which its failure marked
    ``upstream_failed``) are cleared by
    :func:`engine.services.taskchanges.clear_task_instances`: back to ``none`` with
    ``max_tries`` grown by ``retries + 1`` beyond the current try, and the dag run back
    to ``queued``.
    ConflictError when the dead letter is resolved already or its task instance is not
    finished (something else runs it again already).
    """
    dead_letter = _pending(session, id)
    ti = _task_instance(session, dead_letter)
    if ti.state not in FINISHED:
        raise ConflictError(
            f"task instance {ti.dag_id}.{ti.run_id}.{ti.task_id} is {ti.state}, not finished;"
            " discard the dead letter instead"
        )
    clear_task_instances(
        session=session,
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_ids=[ti.task_id],
        downstream=True,
        now=now,
    )
    _resolve(session, dead_letter, DeadLetterState.REPLAYED, now=now, by=by)
    return dead_letter


def discard_dead_letter(*, session: Session, id: int, now: datetime, by: str) -> DeadLetter:
    """Resolve the dead letter without running anything again."""
    dead_letter = _pending(session, id)
    _resolve(session, dead_letter, DeadLetterState.DISCARDED, now=now, by=by)
    return dead_letter


def _pending(session: Session, id: int) -> DeadLetter:
    """Dead letter ``id``, locked (PostgreSQL) so that two people cannot both resolve it."""
    dead_letter = session.get(DeadLetter, id, with_for_update=True, populate_existing=True)
    if dead_letter is None:
        raise NotFoundError(f"dead letter {id} not found")
    if dead_letter.state != DeadLetterState.PENDING:
        raise ConflictError(f"dead letter {id} is {dead_letter.state} already")
    return dead_letter


def _resolve(
    session: Session, dead_letter: DeadLetter, state: DeadLetterState, *, now: datetime, by: str
) -> None:
    dead_letter.state = state
    dead_letter.resolved_at = now
    dead_letter.resolved_by = by
    enqueue(
        session=session,
        kind=OutboxKind.DEAD_LETTER,
        payload={"action": REMOVE, "dead_letter_id": dead_letter.id},
        dedup_key=remove_dedup_key(dead_letter.id),
        now=now,
    )
    session.flush()
    logger.info("dead letter %s %s by %s", dead_letter.id, state, by)


def _task_instance(session: Session, dead_letter: DeadLetter) -> TaskInstance:
    stmt = sa.select(TaskInstance).where(
        TaskInstance.dag_id == dead_letter.dag_id,
        TaskInstance.run_id == dead_letter.run_id,
        TaskInstance.task_id == dead_letter.task_id,
        TaskInstance.map_index == dead_letter.map_index,
    )
    ti = session.scalars(stmt).one_or_none()
    if ti is None:
        raise NotFoundError(
            f"task instance {dead_letter.dag_id}.{dead_letter.run_id}.{dead_letter.task_id}"
            " no longer exists"
        )
    return ti


def _tail(traceback: str | None) -> str | None:
    if traceback is None:
        return None
    data = traceback.encode("utf-8", errors="replace")
    if len(data) <= TRACEBACK_TAIL_BYTES:
        return traceback
    return data[-TRACEBACK_TAIL_BYTES:].decode("utf-8", errors="ignore")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def pending_publication(*, session: Session, dead_letter_id: int) -> OutboxMessage | None:
    """The outbox row that still has to publish dead letter ``dead_letter_id``, if any."""
    stmt = sa.select(OutboxMessage).where(
        OutboxMessage.dedup_key == publish_dedup_key(dead_letter_id),
        OutboxMessage.state == DeliveryStatus.PENDING,
    )
    return session.scalars(stmt).one_or_none()
