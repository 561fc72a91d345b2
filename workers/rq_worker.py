"""``loom worker``: RQ workers on Loom's queues, one per process, supervised when N > 1.

A worker listens to the queues in the order given (``loom.high``, ``loom.default``,
``loom.low`` by default): with the ``default`` dequeue strategy it always takes from the
first non-empty queue (strict priority); ``round_robin`` rotates after each job so a
busy class cannot starve the others. Every worker runs RQ's built-in scheduler (only one
holds its lock at a time), which moves delayed jobs (``enqueue_at``) onto their queue.

``fork=True`` runs jobs in a forked child that is kept for the next ones
(:class:`workers.pool.PooledForkWorker`, RQ's forking worker with a reused horse),
replaced after ``max_tries_per_child`` tries, a changed DAG file or its death, so a crash
or a leak in a task ends with its child. ``fork=False`` uses :class:`rq.SimpleWorker`: jobs
run in the worker process itself, faster (no fork, warm caches) but less isolated.
Either way a job runs only if it calls one of ``entry_points`` (:mod:`workers.entrypoints`).

With ``concurrency`` above 1, :func:`run_workers` spawns that many processes, each
running one worker, restarts one that dies (a worker killed by the kernel's OOM killer
or by hand), forwards SIGTERM/SIGINT to them (first signal: finish the current job and
exit; second: abort it) and waits for them. A worker whose supervisor dies (``kill -9``)
is sent SIGTERM by the kernel, so none is left taking jobs unsupervised.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Literal, cast

from rq import SimpleWorker
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker, DequeueStrategy

from engine.config.schema import LoggingSettings
from engine.executors.base import LOOM_ENTRY_POINTS
from engine.executors.rq_executor import job_queues
from engine.metrics.retired import retire_process
from engine.models.heartbeats import ProcessKind
from engine.priority import QUEUE_NAMES, QUEUE_PREFIX, is_queue_name, queue_name
from engine.runtime.heartbeat import HeartbeatSettings, ProcessHeartbeat
from engine.runtime.processlog import configure_logging
from engine.runtime.redisconn import check, connect
from workers.entrypoints import RunsOnlyEntryPoints
from workers.pool import DEFAULT_MAX_TRIES_PER_CHILD, PooledForkWorker

logger = logging.getLogger(__name__)

DequeueStrategyName = Literal["default", "round_robin"]


@dataclass(frozen=True)
class WorkerOptions:
    """How ``loom worker`` runs: what it listens to and how it runs jobs."""

    redis_url: str
    queues: tuple[str, ...] = QUEUE_NAMES
    """Queue names, most urgent first."""
    burst: bool = False
    """Exit once the queues are empty instead of waiting for jobs."""
    fork: bool = True
    """Run jobs in a forked child, reused across jobs, rather than in-process."""
    max_tries_per_child: int = DEFAULT_MAX_TRIES_PER_CHILD
    """With ``fork``: tries a child runs before it is replaced (``worker.max_tries_per_child``)."""
    dequeue_strategy: DequeueStrategyName = "default"
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    """Level and format of the worker's own log (a task's output goes to its try's log)."""
    entry_points: frozenset[str] = LOOM_ENTRY_POINTS
    """Dotted names of the functions a job may call; any other job fails unrun."""


def run_worker(options: WorkerOptions, *, prepare: bool = True) -> bool:
    """Run one RQ worker in this process until stopped (or, in burst mode, idle).

    ``prepare`` loads settings and the database engine once, before jobs fork from this
    process, and records the worker's heartbeat (``process_heartbeat``) while it works.
    Returns whether any job was processed.
    """
    connection = connect(options.redis_url)
    check(connection)  # a refused password is one clear line, not RQ's traceback
    queues = job_queues(connection, options.queues)
    extra: dict[str, Any] = {}
    if options.fork:
        extra["max_tries_per_child"] = options.max_tries_per_child
    worker_class = LoomForkingWorker if options.fork else LoomSimpleWorker
    worker = worker_class(
        queues,
        connection=connection,
        serializer=JSONSerializer,
        entry_points=options.entry_points,
        **extra,
    )
    beating = _prepare_entry() if prepare else contextlib.nullcontext()
    logger.info(
        "worker %s on %s (%s, %s)",
        worker.name,
        ", ".join(options.queues),
        "fork" if options.fork else "no fork",
        options.dequeue_strategy,
    )
    with beating:
        worked: bool = worker.work(
            burst=options.burst,
            with_scheduler=True,
            dequeue_strategy=DequeueStrategy(options.dequeue_strategy),
            logging_level=options.logging.level,
        )
    return worked


PUBSUB_POLL_SECONDS = 1.0
"""How often a worker's command listener (RQ's pubsub thread) wakes to see whether it
should stop. RQ 3.0 waits up to 60 s in one read, and a stop that races the reply to its
unsubscribe waits all of it (docs/decisions.md, "Worker shutdown")."""


class _StopsPromptly(BaseWorker):
    """What Loom changes in RQ's workers: stopping is prompt and never half-done.

    - The command listener polls every :data:`PUBSUB_POLL_SECONDS`, so joining it on exit
      takes at most that long instead of up to 60 s.
    - A SIGTERM/SIGINT that arrives while the worker starts (registered in Redis, starting
      its scheduler process, but before RQ installs its handlers) is remembered instead of
      killing the process outright: the work loop then stops at once and tears down,
      deregistering and stopping its scheduler.
    """

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        self._starting_pid = os.getpid()
        for signum in _STOP_SIGNALS:
            signal.signal(signum, self._stop_while_starting)
        super().bootstrap(*args, **kwargs)

    def _stop_while_starting(self, signum: int, _frame: FrameType | None) -> None:
        if os.getpid() != self._starting_pid:
            # A process forked while starting (RQ's scheduler) that has not installed its
            # own handlers yet: the signal means what it would have meant, stop now.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        logger.info("received %s while starting; stopping", signal.Signals(signum).name)
        self._stop_requested = True

    def subscribe(self) -> None:
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # RQ annotates the attribute as None only; its own subscribe assigns a thread too.
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=PUBSUB_POLL_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )


class LoomForkingWorker(RunsOnlyEntryPoints, _StopsPromptly, PooledForkWorker):
    """RQ's forking worker with a reused work horse, stopping promptly, running only
    Loom's jobs."""


class LoomSimpleWorker(RunsOnlyEntryPoints, _StopsPromptly, SimpleWorker):
    """RQ's in-process worker, stopping promptly, running only Loom's jobs."""


def _prepare_entry() -> ProcessHeartbeat:
    """Warm the job entry up, recover what a killed worker of this host left running; the
    worker's own heartbeat, to run around its work loop."""
    from engine.runtime.recovery import recover_orphans
    from workers.entry import warm_up

    shared = warm_up()
    # Tries an earlier worker on this host left running when it was killed.
    recover_orphans(shared.settings, shared.session_factory)
    return ProcessHeartbeat(
        ProcessKind.WORKER, HeartbeatSettings.from_settings(shared.settings), shared.session_factory
    )


def run_workers(options: WorkerOptions, concurrency: int) -> int:
    """Run ``concurrency`` workers; with 1, in this process. Returns an exit status."""
    if concurrency <= 1:
        run_worker(options)
        return 0
    check(connect(options.redis_url))  # once, before any child starts
    return _Supervisor(options, concurrency).run()


RESTART_DELAY_SECONDS = 1.0
"""Least time between two starts of the same worker slot: a worker that dies at once
(a bad setting, Redis refusing it) is restarted at this pace, not in a tight loop."""


class _Supervisor:
    """Spawns the worker processes, restarts one that dies, forwards stop signals, waits
    for them all."""

    def __init__(self, options: WorkerOptions, concurrency: int) -> None:
        self._options = options
        self._concurrency = concurrency
        self._context = multiprocessing.get_context("spawn")
        self._children: list[multiprocessing.process.BaseProcess] = []
        self._stopping = False
        self._exits: dict[int, multiprocessing.process.BaseProcess] = {}
        """A pidfd of each live child (readable once it has exited), to the child."""
        self.restarts = 0

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._forward) for sig in _STOP_SIGNALS}
        try:
            self._children = [self._start_child(number) for number in range(self._concurrency)]
            while self._exits:
                # pidfds, not the children's sentinels: a dead worker's RQ scheduler process
                # (its fork) holds the sentinel open, so the death would go unseen.
                for ready in multiprocessing.connection.wait(list(self._exits)):
                    pidfd = cast(int, ready)
                    self._ended(self._exits.pop(pidfd))
                    os.close(pidfd)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        # A worker that died and was replaced was logged then; its replacement's exit counts.
        failed = [child for child in self._children if not self._clean_exit(child)]
        for child in failed:
            logger.error("worker process %s exited with %s", child.pid, child.exitcode)
        return 1 if failed else 0

    def _ended(self, child: multiprocessing.process.BaseProcess) -> None:
        child.join()
        if self._stopping or self._clean_exit(child):
            return
        number = self._children.index(child)
        if child.pid is not None:
            # What the dead worker started in its process group (RQ's scheduler process)
            # would outlive it, holding RQ's scheduler lock.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            retire_process(child.pid)  # its counts are kept, its metric files go
        logger.error(
            "worker process %s died (exit %s); starting another", child.pid, child.exitcode
        )
        started = getattr(child, "loom_started", 0.0)
        time.sleep(max(0.0, started + RESTART_DELAY_SECONDS - time.monotonic()))
        if not self._stopping:
            self._children[number] = self._start_child(number)
            self.restarts += 1

    def _start_child(self, number: int) -> multiprocessing.process.BaseProcess:
        child = self._context.Process(
            target=_child_main, args=(self._options,), name=f"loom-worker-{number}"
        )
        child.start()
        child.loom_started = time.monotonic()  # type: ignore[attr-defined]
        assert child.pid is not None  # started
        self._exits[os.pidfd_open(child.pid)] = child
        logger.info("started worker process %s", child.pid)
        return child

    def _clean_exit(self, child: multiprocessing.process.BaseProcess) -> bool:
        """Exit status 0, or ended by the SIGTERM we forwarded: a child still starting up
        has no handler yet, and had no task to lose."""
        return child.exitcode == 0 or (self._stopping and child.exitcode == -signal.SIGTERM)

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True
        logger.info(
            "received %s; stopping %s workers", signal.Signals(signum).name, len(self._children)
        )
        for child in self._children:
            if child.is_alive() and child.pid is not None:
                os.kill(child.pid, signal.SIGTERM)


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _child_main(options: WorkerOptions) -> None:
    """A supervised worker process: in its own process group, so that a Ctrl-C on the
    terminal reaches only the supervisor, which forwards it once; stopped like that when
    the supervisor dies."""
    os.setpgrp()
    if not _stop_with_supervisor():
        return
    configure_logging(options.logging)
    run_worker(options)


PR_SET_PDEATHSIG = 1
"""prctl(2)'s option: the signal the kernel sends a process when its parent dies."""


def _stop_with_supervisor() -> bool:
    """Have the kernel send this process SIGTERM (finish the current job, then exit) when
    its supervisor (the parent that spawned it) dies; False when it has died already. A
    supervisor killed with SIGKILL (the OOM killer, ``kill -9``) would otherwise leave its
    workers taking jobs with nothing to restart, count or stop them. Linux only;
    elsewhere they live on."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl(PR_SET_PDEATHSIG): {os.strerror(errno)}")
    supervisor = multiprocessing.parent_process()
    return supervisor is not None and os.getppid() == supervisor.pid


def parse_queues(values: Sequence[str]) -> tuple[str, ...]:
    """Queue names from ``--queues`` values: comma lists, ``high`` short for ``loom.high``,
    ``gpu`` for the named queue ``loom.gpu`` (a task's ``queue="gpu"``).

    Raises ValueError for a name that cannot be a queue's.
    """
    names: list[str] = []
    for value in values:
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            name = item if item.startswith(QUEUE_PREFIX) else queue_name(item)
            if not is_queue_name(name):
                raise ValueError(
                    f"unknown queue {item!r}; expected one of {', '.join(QUEUE_NAMES)} "
                    "or a queue name of letters, digits, '_' and '-'"
                )
            if name not in names:
                names.append(name)
    return tuple(names) or QUEUE_NAMES
