"""Pruning old history: what ``loom db clean`` and the scheduler's retention step delete.

Everything older than a cutoff that nothing will read or act on again:

* ``dag_run``: finished runs (``success`` / ``failed``) that ended before the cutoff, with
  their task instances, tries and the tries' logs (``task_attempt``), XComs, mapped task
  lengths (``task_map``), resolved dead letters, asset-event links and leftover change
  notes. A run is kept while it has a try in flight (``queued``, ``running``,
  ``deferred``) or a ``pending`` dead letter: a person still has to replay or discard it.
* ``audit_log``: entries written before the cutoff.
* ``outbox``: messages delivered before the cutoff (a pending one is a side effect still
  owed, whatever its age).
* ``notification_delivery``: deliveries created before the cutoff that are ``delivered``
  or ``failed`` (given up); a pending one is still being sent.

Rows go in batches of at most ``batch_size`` roots (runs, entries, messages,
deliveries), each batch in a transaction of its own, so a large clean never holds locks
for long and an interrupted one keeps what it did. On PostgreSQL a batch skips rows
another transaction holds (``FOR UPDATE SKIP LOCKED``). Unlike most services, :func:`clean`
takes a session factory and commits: the batches are the point.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.durations import parse_duration
from engine.errors import InvalidInputError
from engine.models import (
    AuditLog,
    DagRun,
    DagRunAssetEvent,
    DagRunChange,
    DeadLetter,
    DeadLetterState,
    DeliveryStatus,
    NotificationDelivery,
    OutboxMessage,
    TaskAttempt,
    TaskInstance,
    TaskMap,
    XCom,
)
from engine.services.userinput import checked_datetime
from engine.state import RUN_FINISHED, TaskInstanceState

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
"""Root rows (runs, audit entries, outbox messages, deliveries) deleted per transaction."""

TABLES = ("dag_run", "audit_log", "outbox", "notification_delivery")
"""What ``--tables`` may name; a run takes its task instances, tries, logs and XComs along."""

IN_FLIGHT = frozenset(
    {TaskInstanceState.QUEUED, TaskInstanceState.RUNNING, TaskInstanceState.DEFERRED}
)
"""A finished run with a task instance in one of these states is kept (a worker may
still be writing to it)."""

_RELATIVE = re.compile(r"\s*\d+(\.\d+)?\s*(w|d|h|m)\s*", re.IGNORECASE)

Ids = Sequence[int] | sa.Select[Any]
"""Run ids as a list (one batch) or a SELECT (all candidates, to count them)."""


@dataclass
class CleanReport:
    """What a clean deleted (or, dry, would delete): rows per table, in deletion order."""

    before: datetime
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, table: str, rows: int) -> None:
        self.counts[table] = self.counts.get(table, 0) + rows


def check_tables(names: Iterable[str] | None) -> tuple[str, ...]:
    """The tables to clean, in :data:`TABLES` order (None or empty: all of them);
    :class:`InvalidInputError` naming an unknown one and listing the valid ones."""
    wanted = {name.strip() for name in names or () if name.strip()}
    unknown = sorted(wanted - set(TABLES))
    if unknown:
        names_text = ", ".join(repr(name) for name in unknown)
        raise InvalidInputError(
            f"--tables: unknown table {names_text}; valid tables: {', '.join(TABLES)}"
        )
    return tuple(name for name in TABLES if not wanted or name in wanted)


def parse_cutoff(text: str, *, now: datetime, option: str = "--before") -> datetime:
    """An aware cutoff from an ISO date or date and time (naive means UTC) or from an age
    such as ``30d``, ``12h`` or ``2w`` (that long before ``now``)."""
    if _RELATIVE.fullmatch(text):
        return now - parse_duration(text.strip().lower())
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(
            f"{option} {text!r} is neither an ISO date (2026-01-31, 2026-01-31T06:00+01:00) "
            "nor an age such as 30d, 12h or 2w"
        ) from None
    return checked_datetime(parsed, field=option)


def clean(
    *,
    session_factory: sessionmaker[Session],
    before: datetime,
    tables: Collection[str] = TABLES,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> CleanReport:
    """Delete (``dry_run``: count) what :func:`check_tables`' ``tables`` hold from before
    ``before`` (see the module docstring); commits each batch."""
    report = CleanReport(before=before, dry_run=dry_run)
    for table in check_tables(tables):
        if table == "dag_run":
            _clean_runs(session_factory, before, report, batch_size)
        else:
            _clean_simple(session_factory, table, before, report, batch_size)
    logger.info("db clean before %s%s: %s", before.isoformat(), " (dry run)" if dry_run else "",
                ", ".join(f"{t} {n}" for t, n in report.counts.items()))  # fmt: skip
    return report


# -- runs and what hangs off them ------------------------------------------------------------


def _old_runs(before: datetime) -> sa.Select[Any]:
    ended = sa.or_(
        DagRun.end_date < before, sa.and_(DagRun.end_date.is_(None), DagRun.created_at < before)
    )
    busy = sa.exists().where(
        TaskInstance.dag_run_id == DagRun.id, TaskInstance.state.in_(sorted(IN_FLIGHT))
    )
    parked = sa.exists().where(
        DeadLetter.dag_id == DagRun.dag_id,
        DeadLetter.run_id == DagRun.run_id,
        DeadLetter.state == DeadLetterState.PENDING,
    )
    return sa.select(DagRun.id).where(DagRun.state.in_(sorted(RUN_FINISHED)), ended, ~busy, ~parked)


def _of_runs(model: Any, ids: Ids) -> sa.ColumnElement[bool]:
    """Rows of ``model`` keyed by ``(dag_id, run_id)`` that belong to the runs ``ids``."""
    return sa.exists().where(
        DagRun.id.in_(ids), DagRun.dag_id == model.dag_id, DagRun.run_id == model.run_id
    )


RUN_PARTS: tuple[tuple[str, Any, Callable[[Ids], sa.ColumnElement[bool]]], ...] = (
    (
        "task_attempt",
        TaskAttempt,
        lambda ids: TaskAttempt.task_instance_id.in_(
            sa.select(TaskInstance.id).where(TaskInstance.dag_run_id.in_(ids))
        ),
    ),
    ("task_instance", TaskInstance, lambda ids: TaskInstance.dag_run_id.in_(ids)),
    ("xcom", XCom, lambda ids: _of_runs(XCom, ids)),
    ("task_map", TaskMap, lambda ids: _of_runs(TaskMap, ids)),
    ("dead_letter", DeadLetter, lambda ids: _of_runs(DeadLetter, ids)),
    ("dagrun_asset_event", DagRunAssetEvent, lambda ids: DagRunAssetEvent.dag_run_id.in_(ids)),
    ("dag_run_change", DagRunChange, lambda ids: DagRunChange.dag_run_id.in_(ids)),
    ("dag_run", DagRun, lambda ids: DagRun.id.in_(ids)),
)
"""What a run takes along, children before parents (the key-matched tables before the
run that matches them)."""


def _clean_runs(
    sessions: sessionmaker[Session], before: datetime, report: CleanReport, batch_size: int
) -> None:
    candidates = _old_runs(before)
    if report.dry_run:
        with sessions() as session:
            for table, model, where in RUN_PARTS:
                report.add(table, _count(session, model, where(candidates)))
        return
    for table, *_ in RUN_PARTS:
        report.add(table, 0)
    while True:
        with sessions.begin() as session:
            ids = _batch(session, candidates.order_by(DagRun.id), batch_size)
            for table, model, where in RUN_PARTS:
                if ids:
                    report.add(table, _delete(session, model, where(ids)))
        if len(ids) < batch_size:
            return


# -- tables whose rows stand alone -----------------------------------------------------------

SIMPLE: dict[str, tuple[Any, Callable[[datetime], sa.ColumnElement[bool]]]] = {
    "audit_log": (AuditLog, lambda before: AuditLog.created_at < before),
    "outbox": (
        OutboxMessage,
        lambda before: sa.and_(
            OutboxMessage.state == DeliveryStatus.DELIVERED,
            sa.func.coalesce(OutboxMessage.delivered_at, OutboxMessage.created_at) < before,
        ),
    ),
    "notification_delivery": (
        NotificationDelivery,
        lambda before: sa.and_(
            NotificationDelivery.status != DeliveryStatus.PENDING,
            NotificationDelivery.created_at < before,
        ),
    ),
}
"""Table → (model, which rows are old enough)."""


def _clean_simple(
    sessions: sessionmaker[Session],
    table: str,
    before: datetime,
    report: CleanReport,
    batch_size: int,
) -> None:
    model, old = SIMPLE[table]
    if report.dry_run:
        with sessions() as session:
            report.add(table, _count(session, model, old(before)))
        return
    report.add(table, 0)
    candidates = sa.select(model.id).where(old(before)).order_by(model.id)
    while True:
        with sessions.begin() as session:
            ids = _batch(session, candidates, batch_size)
            if ids:
                report.add(table, _delete(session, model, model.id.in_(ids)))
        if len(ids) < batch_size:
            return


# -- statements ------------------------------------------------------------------------------


def _batch(session: Session, candidates: sa.Select[Any], batch_size: int) -> list[int]:
    """The next ``batch_size`` candidate ids, locked (rows others hold are skipped)."""
    stmt = candidates.limit(batch_size).with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def _count(session: Session, model: Any, where: sa.ColumnElement[bool]) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(model).where(where)) or 0)


def _delete(session: Session, model: Any, where: sa.ColumnElement[bool]) -> int:
    result = session.execute(
        sa.delete(model).where(where).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
