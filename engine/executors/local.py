"""The ``local`` executor: an in-process priority queue feeding a pool of worker processes.

``loom standalone`` runs tasks with it, with no Redis. The parent keeps two heaps:
*delayed* jobs by due time, and *ready* jobs by class (high, default, low), then
submission order. One dispatcher thread owns the pool: it moves due jobs to the ready
heap, hands the most urgent ready job to an idle process, and listens to the processes.

Each pool process is forked by the process's forkserver (:mod:`engine.runtime.forkserver`,
never plain ``fork`` from this threaded parent), which has the job function's module
preloaded, so the pool shares Loom's imported pages instead of each process holding its
own (``spawn``, a fresh interpreter, remains an option). It runs one job at a time by
calling the job function (``workers.entry.run_job``) with ``ti_id`` and ``try_number``,
and reports back over its pipe. A task may submit follow-up jobs from inside a pool
process through :func:`child_executor`, which forwards them to the parent. A process
that dies is replaced; its job is dropped, like a job lost from Redis, and the
database's reconciliation takes it from there. Given ``heartbeat`` settings, each pool
process records its own heartbeat as a worker (:mod:`engine.runtime.heartbeat`).
"""

from __future__ import annotations

import contextlib
import heapq
import importlib
import itertools
import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, Literal

from engine.config.schema import LoggingSettings
from engine.executors.base import DEFAULT_JOB_FUNC, TaskJob
from engine.runtime import forkserver, proctree
from engine.runtime.processlog import configure_logging
from engine.timeutil import utcnow

if TYPE_CHECKING:
    from engine.runtime.heartbeat import HeartbeatSettings

logger = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 30.0
"""How long :meth:`LocalExecutor.stop` waits for running tasks before terminating them
(unless :meth:`LocalExecutor.stop_now` cuts the wait short). ``loom standalone`` waits
without a bound: its user stops the tasks with a second Ctrl-C."""

KILL_GRACE_SECONDS = 2.0
"""How long a terminated pool process may take to exit before it is killed."""

_child_link: _ParentLink | None = None
"""In a pool process: the link to the parent executor; elsewhere ``None``."""


def child_executor() -> _ParentLink | None:
    """In a local executor's pool process, an executor that submits to the parent."""
    return _child_link


@dataclass
class _Slot:
    process: BaseProcess
    conn: Connection
    job: TaskJob | None = None
    exiting: bool = False


@dataclass
class _Queues:
    """Pending jobs: ``delayed`` by due time (monotonic), ``ready`` by class and order."""

    delayed: list[tuple[float, int, TaskJob]] = field(default_factory=list)
    ready: list[tuple[int, int, TaskJob]] = field(default_factory=list)
    pending: set[str] = field(default_factory=set)
    running: set[str] = field(default_factory=set)
    sequence: itertools.count[int] = field(default_factory=itertools.count)

    def push(self, job: TaskJob, due: float | None) -> None:
        order = next(self.sequence)
        if due is None:
            heapq.heappush(self.ready, (job.rank, order, job))
        else:
            heapq.heappush(self.delayed, (due, order, job))
        self.pending.add(job.job_id)

    def promote_due(self, now: float) -> None:
        while self.delayed and self.delayed[0][0] <= now:
            _, order, job = heapq.heappop(self.delayed)
            heapq.heappush(self.ready, (job.rank, order, job))

    def pop_ready(self) -> TaskJob | None:
        if not self.ready:
            return None
        job = heapq.heappop(self.ready)[2]
        self.pending.discard(job.job_id)
        self.running.add(job.job_id)
        return job

    def next_due(self) -> float | None:
        return self.delayed[0][0] if self.delayed else None


class LocalExecutor:
    """Runs tries in ``concurrency`` local processes, most urgent class first."""

    def __init__(
        self,
        concurrency: int,
        *,
        job_func: str = DEFAULT_JOB_FUNC,
        start_method: Literal["spawn", "forkserver"] = "forkserver",
        stop_timeout: float | None = STOP_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = utcnow,
        on_job_done: Callable[[], None] | None = None,
        logging_settings: LoggingSettings | None = None,
        heartbeat: HeartbeatSettings | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self._concurrency = concurrency
        self._job_func = job_func
        self._start_method = start_method
        if start_method == "forkserver":
            forkserver.preload(job_func.rpartition(".")[0])
        self._stop_timeout = stop_timeout
        self._clock = clock
        self._on_job_done = on_job_done
        self._logging = logging_settings or _logging_like_this_process()
        self._heartbeat = heartbeat
        self._lock = threading.Lock()
        self._queues = _Queues()
        self._slots: list[_Slot] = []
        self._wake_reader, self._wake_writer = multiprocessing.Pipe(duplex=False)
        self._wake_pending = False
        self._stopping = False
        self._abort = threading.Event()
        self._interrupted: list[TaskJob] = []
        self._thread: threading.Thread | None = None

    # --- the Executor protocol -----------------------------------------------------------

    def start(self) -> None:
        """Start the pool processes and the dispatcher thread."""
        if self._thread is not None:
            raise RuntimeError("LocalExecutor already started")
        self._slots = [self._spawn() for _ in range(self._concurrency)]
        self._thread = threading.Thread(target=self._run, name="loom-local-executor", daemon=True)
        self._thread.start()
        logger.info("local executor started with %s processes", self._concurrency)

    def stop(self) -> None:
        """Stop dispatching, let running tasks finish (up to the timeout), end the pool."""
        if self._thread is None:
            return
        with self._lock:
            self._stopping = True
        self._wake()
        self._thread.join()
        self._thread = None
        logger.info("local executor stopped")

    def stop_now(self) -> None:
        """Make a :meth:`stop` in progress (or the next) end running tasks at once instead of
        waiting for them; :meth:`interrupted` then names their tries."""
        self._abort.set()
        self._wake()

    def running(self) -> list[TaskJob]:
        """The jobs the pool processes run now."""
        return [slot.job for slot in list(self._slots) if slot.job is not None]

    def interrupted(self) -> list[TaskJob]:
        """The jobs whose process :meth:`stop` ended while they ran (after :meth:`stop`)."""
        return list(self._interrupted)

    def submit(self, job: TaskJob, *, at: datetime | None = None) -> None:
        """Queue ``job`` (not before ``at``) unless the same try is pending or running."""
        due = None if at is None else time.monotonic() + (at - self._clock()).total_seconds()
        with self._lock:
            if self._stopping:
                logger.debug("executor stopping; job %s not accepted", job.job_id)
                return
            if job.job_id in self._queues.pending or job.job_id in self._queues.running:
                logger.debug("job %s is already pending; not submitted again", job.job_id)
                return
            self._queues.push(job, due)
        logger.info("submitted job %s (%s) to %s", job.job_id, job.describe(), job.queue)
        self._wake()

    def submit_many(self, jobs: Sequence[TaskJob], *, at: datetime | None = None) -> None:
        """:meth:`submit` each of ``jobs``: in process, a batch costs nothing more."""
        for job in jobs:
            self.submit(job, at=at)

    def has_job(self, job_id: str) -> bool:
        """True while the job is pending (delayed or ready) or running."""
        with self._lock:
            return job_id in self._queues.pending or job_id in self._queues.running

    # --- the dispatcher thread -----------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._is_stopping():
                self._dispatch()
                self._handle(self._wait_for_events(self._seconds_to_next_due()))
        finally:
            self._shutdown()

    def _dispatch(self) -> None:
        """Hand the most urgent due jobs to idle processes."""
        for slot in self._slots:
            if slot.job is not None or not slot.process.is_alive():
                continue
            with self._lock:
                self._queues.promote_due(time.monotonic())
                job = self._queues.pop_ready()
            if job is None:
                return
            slot.job = job
            try:
                slot.conn.send((job.ti_id, job.try_number))
            except OSError:  # the process died just now; its sentinel will report it
                logger.warning("could not hand job %s to pid %s", job.job_id, slot.process.pid)

    def _seconds_to_next_due(self) -> float | None:
        with self._lock:
            due = self._queues.next_due()
        return None if due is None else max(0.0, due - time.monotonic())

    def _wait_for_events(self, timeout: float | None) -> list[Any]:
        handles: list[Any] = [self._wake_reader]
        for slot in self._slots:
            handles += [slot.conn, slot.process.sentinel]
        return wait(handles, timeout)

    def _handle(self, ready: list[Any]) -> None:
        if self._wake_reader in ready:
            self._drain_wake()
        for index, slot in enumerate(self._slots):
            if slot.conn in ready:
                self._receive(slot)
            if slot.process.sentinel in ready:
                self._replace_dead(index)

    def _receive(self, slot: _Slot) -> None:
        while slot.conn.poll():
            try:
                message = slot.conn.recv()
            except (EOFError, OSError):  # the process is gone; its sentinel reports it
                return
            if message[0] == "done":
                self._finish(slot)
            elif message[0] == "submit":
                self.submit(TaskJob(**message[1]), at=message[2])

    def _finish(self, slot: _Slot) -> None:
        if slot.job is None:
            return
        with self._lock:
            self._queues.running.discard(slot.job.job_id)
        logger.debug("job %s done in pid %s", slot.job.job_id, slot.process.pid)
        slot.job = None
        if self._on_job_done is not None:
            self._on_job_done()

    def _replace_dead(self, index: int) -> None:
        slot = self._slots[index]
        slot.process.join(KILL_GRACE_SECONDS)  # its sentinel fires just before it can be reaped
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join()
        if slot.job is not None:
            logger.error(
                "pool process %s died (exit code %s) running job %s (%s); the job is dropped",
                slot.process.pid,
                slot.process.exitcode,
                slot.job.job_id,
                slot.job.describe(),
            )
            self._finish(slot)
        slot.conn.close()
        slot.process.close()
        self._slots[index] = self._spawn()

    # --- processes and wake-ups ----------------------------------------------------------

    def _spawn(self) -> _Slot:
        context: SpawnContext | ForkServerContext = (
            multiprocessing.get_context("spawn")
            if self._start_method == "spawn"
            else forkserver.context()
        )
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=_child_main,
            args=(
                child_end,
                self._job_func,
                self._logging,
                forkserver.Surroundings.now(),
                self._heartbeat,
            ),
            name="loom-local-worker",
            daemon=True,
        )
        process.start()
        child_end.close()
        return _Slot(process=process, conn=parent_end)

    def _wake(self) -> None:
        with self._lock:
            if self._wake_pending:
                return
            self._wake_pending = True
            self._wake_writer.send_bytes(b"w")

    def _drain_wake(self) -> None:
        with self._lock:
            while self._wake_reader.poll():
                self._wake_reader.recv_bytes()
            self._wake_pending = False

    def _is_stopping(self) -> bool:
        with self._lock:
            return self._stopping

    def _shutdown(self) -> None:
        with self._lock:
            dropped = len(self._queues.pending)
            self._queues = _Queues()
        if dropped:
            logger.info("local executor stopping: %s pending jobs dropped", dropped)
        deadline = None if self._stop_timeout is None else time.monotonic() + self._stop_timeout
        live = list(self._slots)
        while self._release_idle(live) and not self._abort.is_set():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            handles = [handle for slot in live for handle in (slot.conn, slot.process.sentinel)]
            ready = wait([self._wake_reader, *handles], left)
            if self._wake_reader in ready:
                self._drain_wake()
            for slot in list(live):
                if slot.process.sentinel in ready:
                    live.remove(slot)
                elif slot.conn in ready:
                    self._receive_on_shutdown(slot)
        self._end_processes(live)

    @staticmethod
    def _release_idle(live: list[_Slot]) -> bool:
        """Tell idle processes to exit; True while some process is still running."""
        for slot in live:
            if slot.job is None and not slot.exiting:
                with contextlib.suppress(OSError):  # exited meanwhile
                    slot.conn.send(None)
                slot.exiting = True
        return bool(live)

    def _receive_on_shutdown(self, slot: _Slot) -> None:
        """Note finished jobs; follow-up submissions are dropped (the database has them)."""
        while slot.conn.poll():
            try:
                message = slot.conn.recv()
            except (EOFError, OSError):
                return
            if message[0] == "done":
                self._finish(slot)

    def _end_processes(self, running: list[_Slot]) -> None:
        for slot in running:
            logger.warning("terminating pool process %s", slot.process.pid)
            # A task's commands run in process groups of their own: they would outlive it.
            spawned = proctree.descendants(slot.process.pid) if slot.process.pid else []
            slot.process.terminate()
            proctree.kill_all(spawned)
            if slot.job is not None:
                self._interrupted.append(slot.job)
        for slot in self._slots:
            slot.process.join(KILL_GRACE_SECONDS)
            if slot.process.exitcode is None:
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
        self._slots = []


# --- inside a pool process ---------------------------------------------------------------


class _ParentLink:
    """The executor a task sees inside a pool process: submissions go to the parent."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def submit(self, job: TaskJob, *, at: datetime | None = None) -> None:
        """Forward ``job`` to the parent executor, which queues it."""
        with self._lock:
            self._conn.send(("submit", asdict(job), at))

    def submit_many(self, jobs: Sequence[TaskJob], *, at: datetime | None = None) -> None:
        """Forward each of ``jobs`` to the parent executor."""
        for job in jobs:
            self.submit(job, at=at)

    def report_done(self) -> None:
        with self._lock:
            self._conn.send(("done",))

    def has_job(self, job_id: str) -> bool:
        """Not known inside a pool process (only the scheduler asks): always False."""
        return False

    def start(self) -> None:
        """Nothing to start: the parent owns the pool."""

    def stop(self) -> None:
        """Nothing to stop: the parent owns the pool."""


def _logging_like_this_process() -> LoggingSettings:
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    return LoggingSettings(level=level if level in ("DEBUG", "INFO", "ERROR") else "WARNING")


def _child_main(
    conn: Connection,
    job_func: str,
    logging_settings: LoggingSettings,
    surroundings: forkserver.Surroundings,
    heartbeat: HeartbeatSettings | None,
) -> None:
    """A pool process: run jobs the parent sends until it sends ``None``, heartbeating as
    a worker when ``heartbeat`` says how."""
    global _child_link
    surroundings.enter()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    configure_logging(logging_settings)
    link = _child_link = _ParentLink(conn)
    func = _import_function(job_func)
    if heartbeat is None:
        _run_jobs(conn, func, link)
        return
    from engine.models.heartbeats import ProcessKind
    from engine.runtime.heartbeat import ProcessHeartbeat

    with ProcessHeartbeat(ProcessKind.WORKER, heartbeat):
        _run_jobs(conn, func, link)


def _run_jobs(conn: Connection, func: Callable[..., Any], link: _ParentLink) -> None:
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the parent is gone
            return
        if message is None:
            return
        ti_id, try_number = message
        try:
            func(ti_id=ti_id, try_number=try_number)
        except Exception:  # the runner records outcomes; a bug in it must not end the pool
            logger.exception("job %s:%s raised", ti_id, try_number)
        link.report_done()


def _import_function(path: str) -> Callable[..., Any]:
    module_name, _, name = path.rpartition(".")
    func: Callable[..., Any] = getattr(importlib.import_module(module_name), name)
    return func
