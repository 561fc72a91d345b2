"""The scheduler: a short loop around :meth:`Scheduler.tick`, one named step at a time.

A tick is a function of ``now``. Each step runs in its own transaction, so a failing
step is logged with its traceback, counted in :attr:`TickReport.errors` and rolled back
while the others go on. Jobs are handed to the executor only after the transaction that
queued them has committed. Schedulers keep no state between ticks, so several can run
side by side (see :mod:`engine.scheduling`).

A tick never parses DAG files: :meth:`Scheduler.run` runs the parse loop
(:class:`engine.parser.loop.ParseLoop`) in a thread beside the ticks, so a DAG file that
hangs at import delays only itself, never the scheduling of the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.authoring.serialization import SerializedDAG
from engine.config import Settings
from engine.delivery.notifications.deadlines import fire_missed_deadlines
from engine.executors.base import Executor, TaskJob, job_ids
from engine.metrics import instruments
from engine.models import DagRun
from engine.parser.loop import ParseLoop
from engine.scheduling import (
    Limits,
    active_count,
    create_due_runs,
    detect_zombies,
    fail_timed_out_runs,
    finish_run_if_done,
    instance_rows,
    promote_reschedules,
    promote_retries,
    queue_ready,
    stale_queued,
    start_queued_runs,
    task_states,
    waiting_instances,
)
from engine.scheduling.assets import create_asset_triggered_runs
from engine.scheduling.brokenfiles import hold_broken
from engine.scheduling.changes import (
    changed_run_ids,
    drop_settled_changes,
    note_changed,
    take_changes,
    waits_on_past,
)
from engine.scheduling.deferrals import fail_timed_out_deferrals
from engine.scheduling.emptytasks import settle_finishing_empty
from engine.scheduling.failfast import stop_after_failure
from engine.scheduling.heartbeats import record_scheduler_heartbeat
from engine.scheduling.readiness import RunRows
from engine.scheduling.retention import RETENTION_CHECK_EVERY, apply_retention
from engine.scheduling.wakeup import LocalWaker, Waker
from engine.services.backfill import complete_finished_backfills
from engine.services.dagversions import load_run_dags
from engine.state import DagRunState
from engine.timeutil import utcnow

logger = logging.getLogger(__name__)

MIN_RECONCILE_GRACE = timedelta(seconds=5)
"""Least time a task instance stays queued before its job's absence is acted on."""

PARSE_JOIN_SECONDS = 10.0
"""How long a stopping scheduler waits for its parse loop to kill its children."""


@dataclass
class TickReport:
    """What one tick did: counts per step, and the steps that failed."""

    runs_created: int = 0
    asset_runs_created: int = 0
    runs_started: int = 0
    retries_promoted: int = 0
    reschedules_promoted: int = 0
    ready: int = 0
    queued: int = 0
    zombies: int = 0
    deferrals_timed_out: int = 0
    runs_timed_out: int = 0
    backfills_completed: int = 0
    deadlines_missed: int = 0
    resubmitted: int = 0
    runs_finished: int = 0
    rows_pruned: int = 0
    """Rows the daily retention clean deleted (``core.retention_days``)."""
    errors: list[str] = field(default_factory=list)


class Scheduler:
    """Creates runs, decides readiness, queues and submits task instances."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        executor: Executor,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        parse_dags: bool = True,
        waker: Waker | None = None,
    ) -> None:
        self._sessions = session_factory
        self._waker = waker or LocalWaker()
        self._executor = executor
        self._settings = settings
        self._clock = clock
        self.parse_loop = (
            ParseLoop(session_factory=session_factory, settings=settings, clock=clock)
            if parse_dags
            else None
        )
        """Parses the DAG folder beside the ticks while :meth:`run` runs (None: no parsing)."""
        config = settings.scheduler
        self._limits = Limits(parallelism=config.parallelism)
        self._grace = max(2 * config.tick_interval, MIN_RECONCILE_GRACE)
        self._max_failed_runs = settings.core.max_consecutive_failed_dag_runs_per_dag
        self._retention_check_at: datetime | None = None
        """Before this, the retention step does not even ask whether it is due."""

    def run(self, stop_event: threading.Event) -> None:
        """Tick until ``stop_event`` is set: a full tick every ``scheduler.tick_interval``
        and, when woken in between (a task finished, a run was triggered), a quick one."""
        interval = self._settings.scheduler.tick_interval.total_seconds()
        logger.info("scheduler started (tick every %ss, or when woken)", interval)
        parse_stop = threading.Event()  # its own: a failing tick loop stops parsing too
        parsing = self._start_parse_loop(parse_stop)
        try:
            self._tick_until(stop_event, interval)
        finally:
            parse_stop.set()
            if parsing is not None:
                parsing.join(timeout=PARSE_JOIN_SECONDS)
        logger.info("scheduler stopped")

    def _start_parse_loop(self, stop: threading.Event) -> threading.Thread | None:
        if self.parse_loop is None:
            return None
        thread = threading.Thread(
            target=self.parse_loop.run, args=(stop,), name="loom-parse", daemon=True
        )
        thread.start()
        return thread

    def _tick_until(self, stop_event: threading.Event, interval: float) -> None:
        next_full = time.monotonic()
        counted = instruments.get()
        while not stop_event.is_set():
            started = time.monotonic()
            if started >= next_full:
                next_full = started + interval
                report = self.tick(self._clock())
            else:
                report = self.tick(self._clock(), quick=True)
            counted.tick_duration.observe(time.monotonic() - started)
            if report.zombies:
                counted.zombies_detected.inc(report.zombies)
            self._waker.wait(max(0.0, next_full - time.monotonic()))

    def wake(self) -> None:
        """Tick again now instead of at the end of the interval."""
        self._waker.wake()

    def tick(self, now: datetime, *, quick: bool = False) -> TickReport:
        """One pass over every step, at ``now``.

        A ``quick`` tick moves work along only (asset-triggered runs, start runs, promote
        retries and due sensor pokes, settle runs, queue); new scheduled runs,
        zombies, run timeouts, deadline alerts and reconciliation wait for the next full tick.
        """
        report = TickReport()
        if not quick:
            self._step(
                "heartbeat", report, lambda s: record_scheduler_heartbeat(session=s, now=now)
            )
            self._step("create runs", report, lambda s: self._create_runs(s, now, report))
        self._step("asset runs", report, lambda s: self._asset_runs(s, now, report))
        self._step("start runs", report, lambda s: self._start_runs(s, now, report))
        self._step("promote retries", report, lambda s: self._promote(s, now, report))
        self._step("promote reschedules", report, lambda s: self._pokes(s, now, report))
        self._step("advance runs", report, lambda s: self._advance(s, now, report))
        self._submit(self._step("queue", report, lambda s: self._queue(s, now, report)), report)
        if not quick:
            self._step("zombies", report, lambda s: self._zombies(s, now, report))
            self._step("deferral timeouts", report, lambda s: self._deferrals(s, now, report))
            self._step("run timeouts", report, lambda s: self._timeouts(s, now, report))
            self._step("backfills", report, lambda s: self._backfills(s, now, report))
            self._step("deadlines", report, lambda s: self._deadlines(s, now, report))
            self._reconcile(self._step("reconcile", report, lambda s: self._stale(s, now)), report)
            self._retention(now, report)
        return report

    def _step(
        self, name: str, report: TickReport, body: Callable[[Session], Sequence[TaskJob] | None]
    ) -> Sequence[TaskJob]:
        try:
            with self._sessions.begin() as session:
                return body(session) or []
        except Exception:  # one failing step must not stop the others; logged and counted
            logger.exception("scheduler step %r failed", name)
            report.errors.append(name)
            return []

    # -- the steps ------------------------------------------------------------------------

    def _create_runs(self, session: Session, now: datetime, report: TickReport) -> None:
        report.runs_created = len(create_due_runs(session=session, now=now))

    def _asset_runs(self, session: Session, now: datetime, report: TickReport) -> None:
        report.asset_runs_created = len(create_asset_triggered_runs(session=session, now=now))

    def _start_runs(self, session: Session, now: datetime, report: TickReport) -> None:
        report.runs_started = len(start_queued_runs(session=session, now=now))

    def _promote(self, session: Session, now: datetime, report: TickReport) -> None:
        report.retries_promoted = len(promote_retries(session=session, now=now))

    def _pokes(self, session: Session, now: datetime, report: TickReport) -> None:
        report.reschedules_promoted = len(promote_reschedules(session=session, now=now))

    def _advance(self, session: Session, now: datetime, report: TickReport) -> None:
        """Settle the waiting tasks of the running runs whose instances changed since they
        were last advanced, then finish those that are done (see
        :mod:`engine.scheduling.changes`); a tick where nothing changed reads no instance."""
        changed = changed_run_ids(session=session)
        if not changed:
            return
        runs = _running_runs(session=session, run_ids=changed)
        take_changes(session=session, run_ids=[run.id for run, _ in runs])
        drop_settled_changes(session=session, run_ids=changed)
        rows_by_run = instance_rows(session=session, run_ids=[run.id for run, _ in runs])
        again = []
        for run, dag in runs:
            rows = rows_by_run[run.id]
            if self._advance_run(session, run, dag, rows, now, report) is None and waits_on_past(
                dag, rows
            ):
                again.append(run.id)
        note_changed(session=session, run_ids=again)

    def _advance_run(
        self,
        session: Session,
        run: DagRun,
        dag: SerializedDAG,
        rows: RunRows,
        now: datetime,
        report: TickReport,
    ) -> DagRunState | None:
        stop_after_failure(session=session, dag_run=run, dag=dag, rows=rows, now=now)
        report.ready += len(
            settle_finishing_empty(session=session, dag_run=run, dag=dag, rows=rows, now=now)
        )
        finished = finish_run_if_done(
            session=session, dag_run=run, dag=dag, states=task_states(rows), now=now,
            max_failed_runs=self._max_failed_runs,
        )  # fmt: skip
        if finished is not None:
            report.runs_finished += 1
        return finished

    def _queue(self, session: Session, now: datetime, report: TickReport) -> list[TaskJob]:
        if active_count(session=session) >= self._limits.parallelism:
            return []  # the common case under load: no slot, nothing to read
        waiting = hold_broken(waiting_instances(session=session), session=session)
        jobs = queue_ready(session=session, waiting=waiting, limits=self._limits, now=now)
        report.queued = len(jobs)
        return jobs

    def _zombies(self, session: Session, now: datetime, report: TickReport) -> None:
        threshold = self._settings.scheduler.zombie_threshold
        report.zombies = len(detect_zombies(session=session, now=now, threshold=threshold))

    def _deferrals(self, session: Session, now: datetime, report: TickReport) -> None:
        report.deferrals_timed_out = len(fail_timed_out_deferrals(session=session, now=now))

    def _timeouts(self, session: Session, now: datetime, report: TickReport) -> None:
        timed_out = fail_timed_out_runs(
            session=session, now=now, max_failed_runs=self._max_failed_runs
        )
        report.runs_timed_out = len(timed_out)

    def _backfills(self, session: Session, now: datetime, report: TickReport) -> None:
        report.backfills_completed = complete_finished_backfills(session=session, now=now)

    def _deadlines(self, session: Session, now: datetime, report: TickReport) -> None:
        report.deadlines_missed = fire_missed_deadlines(session=session, now=now)

    def _stale(self, session: Session, now: datetime) -> list[TaskJob]:
        return stale_queued(session=session, now=now, grace=self._grace)

    def _retention(self, now: datetime, report: TickReport) -> None:
        """Once a day, delete history older than ``core.retention_days`` (in batches, each
        committed: see :mod:`engine.scheduling.retention`)."""
        days = self._settings.core.retention_days
        if days <= 0 or (self._retention_check_at is not None and now < self._retention_check_at):
            return
        self._retention_check_at = now + RETENTION_CHECK_EVERY
        try:
            cleaned = apply_retention(session_factory=self._sessions, now=now, days=days)
        except Exception:  # the next check tries again; logged and counted like a step
            logger.exception("scheduler step 'retention' failed")
            report.errors.append("retention")
            return
        report.rows_pruned = cleaned.total if cleaned is not None else 0

    # -- after the commit -----------------------------------------------------------------

    def _submit(self, jobs: Sequence[TaskJob], report: TickReport) -> None:
        if not jobs:
            return
        try:
            self._executor.submit_many(jobs)  # one batch: one Redis transaction with RQ
        except Exception:  # the jobs stay queued; reconciliation submits them again
            logger.exception("submitting %s jobs failed: %s", len(jobs), job_ids(jobs))
            report.errors.append("submit")

    def _reconcile(self, jobs: Sequence[TaskJob], report: TickReport) -> None:
        try:
            self._resubmit_vanished(jobs, report)
        except Exception:  # the executor is unreachable: next tick tries again
            logger.exception("reconciling queued jobs failed")
            report.errors.append("reconcile")

    def _resubmit_vanished(self, jobs: Sequence[TaskJob], report: TickReport) -> None:
        vanished = [job for job in jobs if not self._executor.has_job(job.job_id)]
        for job in vanished:
            logger.warning("job %s (%s) vanished: submitting it again", job.job_id,
                           job.describe())  # fmt: skip
        if vanished:
            self._executor.submit_many(vanished)
            report.resubmitted += len(vanished)


def _running_runs(
    *, session: Session, run_ids: Sequence[int]
) -> list[tuple[DagRun, SerializedDAG]]:
    """The running runs of ``run_ids`` this scheduler could lock, each with the graph of its
    DAG version (runs of a lost DAG left out)."""
    stmt = (
        sa.select(DagRun)
        .where(DagRun.state == DagRunState.RUNNING, DagRun.id.in_(run_ids))
        .order_by(DagRun.id)
        .with_for_update(skip_locked=True)
    )
    runs = session.scalars(stmt).all()
    dags = load_run_dags(session=session, run_ids=[run.id for run in runs])
    pairs = []
    for run in runs:
        if run.id not in dags:
            logger.warning("dag run %s.%s: its DAG is gone", run.dag_id, run.run_id)
            continue
        pairs.append((run, dags[run.id].dag))
    return pairs
