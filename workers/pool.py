"""``loom worker --fork``: jobs run in a forked child that is kept for the next job.

RQ's forking worker forks a work horse per job: each try paid for the fork, fresh
database and Redis connections and a fresh import of its DAG file (~100 ms a try).
:class:`PooledForkWorker` keeps every part of RQ's forking worker that runs in the
worker process (dequeue, the execution record, heartbeats and maintenance while a job
runs, the ``stop-job`` command, warm and cold shutdown, failing the job of a horse that
died) and changes only what a "horse" is: a child forked once, on the first job, that
runs job after job. The worker sends it ``(job id, queue, execution id)`` over a pipe;
the child re-reads the job from Redis (as RQ's ``SpawnWorker`` horse does), runs RQ's
``perform_job`` and answers over another pipe. The child's connections, its imported
DAG files (:class:`workers.dagcache.DagCache`) and its warm caches live on to the next
try.

Isolation as before: the child runs in its own process group, and

- it is retired (asked to exit, then reaped) after ``max_tries_per_child`` tries, after a
  try that found a DAG file changed (the old module's memory goes with it), and when the
  worker stops; a new one is forked for the next job;
- a child that dies (SIGKILL, a segfault, ``os._exit`` in a task) is noticed at once
  through a pidfd: RQ fails its job as a work horse that terminated unexpectedly, the
  try left ``running`` is failed by :func:`fail_dead_try`, and the next job gets a new
  child;
- a child whose worker died exits (it watches its parent between jobs);
- its Prometheus files are folded into archives when it is reaped
  (:func:`engine.metrics.retired.retire_process`).

The worker process itself opens no database connection before forking: ``warm_up`` only
creates the engine (and it drops inherited connections at fork); redis-py replaces a
connection pool that crossed a fork.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import select
import signal
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any, NoReturn

from rq import Worker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue

from engine.metrics.retired import retire_process

logger = logging.getLogger(__name__)

RUN_JOB = "workers.entry.run_job"
"""The job function whose ``(ti_id, try_number)`` names a try."""

DEFAULT_MAX_TRIES_PER_CHILD = 100
"""Tries a child runs before it is replaced (``worker.max_tries_per_child``)."""

PARENT_CHECK_SECONDS = 1.0
"""How often an idle child checks that its worker is still alive."""

RETIRE_GRACE_SECONDS = 5.0
"""How long a retiring child may take to exit before it is killed."""


@dataclass
class _Child:
    """A forked child as its worker sees it."""

    pid: int
    pidfd: int
    """Readable once the child has exited (Linux pidfd: no polling, no races with reuse)."""
    jobs: Connection
    """The worker's end of the pipe the child reads its jobs from."""
    results: Connection
    """The worker's end of the pipe the child answers on."""
    tries: int = 0
    retire: bool = False


class PooledForkWorker(Worker):
    """RQ's forking worker whose work horse is forked once and reused across jobs."""

    def __init__(
        self, *args: Any, max_tries_per_child: int = DEFAULT_MAX_TRIES_PER_CHILD, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if max_tries_per_child < 1:
            raise ValueError(f"max_tries_per_child must be at least 1, not {max_tries_per_child}")
        self.max_tries_per_child = max_tries_per_child
        self._child: _Child | None = None
        self.children_started = 0
        """How many children this worker forked (for tests and logs)."""

    # --- the worker's side ------------------------------------------------------------

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        os.environ["RQ_WORKER_ID"] = self.name
        child = self._live_child()
        execution = self.execution
        assert execution is not None  # prepare_execution ran just before
        try:
            child.jobs.send((job.id, queue.name, execution.id))
        except OSError:  # died between the liveness check and now: the pidfd says so
            logger.warning("worker child %s gone before job %s", child.pid, job.id)
        self._horse_pid = child.pid
        self.procline(f"Job {job.id} in child {child.pid}")  # type: ignore[no-untyped-call]

    def wait_for_horse(self) -> tuple[int | None, int | None, Any]:
        """Wait for the child's answer (then report a clean exit to RQ) or its death
        (then its real wait status, so that RQ fails the job)."""
        child = self._child
        if child is None:
            return None, None, None
        ready, _, _ = select.select([child.results.fileno(), child.pidfd], [], [])
        if child.results.fileno() in ready:
            with _alarm_blocked():  # RQ's monitor raises from SIGALRM: never mid-message
                try:
                    answer = child.results.recv()
                except EOFError:
                    answer = None
            if answer is not None:
                self._tried(child, answer)
                return child.pid, os.EX_OK, None
        return self._reap(child)

    def kill_horse(self, sig: signal.Signals = signal.SIGKILL) -> None:
        if self._child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._child.pid, sig)
            logger.info("killed worker child %s (%s)", self._child.pid, sig.name)

    def handle_work_horse_killed(self, job: Job, retpid: Any, ret_val: Any, rusage: Any) -> None:
        """Fail the try the dead child left ``running`` now, not at the zombie threshold."""
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)  # type: ignore[no-untyped-call]
        if job.func_name != RUN_JOB or retpid is None:
            return
        from workers.entry import fail_lost_try

        try:
            kwargs = job.kwargs
            if fail_lost_try(int(kwargs["ti_id"]), int(kwargs["try_number"]), pid=retpid):
                logger.warning("job %s: its try was failed, its child %s died", job.id, retpid)
        except Exception:  # the zombie check will fail it after the heartbeat threshold
            logger.exception("job %s: could not fail the try of dead child %s", job.id, retpid)

    def execute_job(self, job: Job, queue: Queue) -> None:
        super().execute_job(job, queue)
        if self._child is not None and self._child.retire:
            self._retire()

    def teardown(self) -> None:
        if self._child is not None:
            self._retire()
        super().teardown()  # type: ignore[no-untyped-call]

    def _live_child(self) -> _Child:
        child = self._child
        if child is not None and not _exited(child.pidfd):
            return child
        if child is not None:
            logger.warning("worker child %s died while idle; forking another", child.pid)
            self._reap(child)
        self._child = self._fork_child()
        return self._child

    def _tried(self, child: _Child, answer: dict[str, Any]) -> None:
        child.tries += 1
        if answer.get("dags_changed"):
            logger.info("worker child %s imported a changed DAG file; replacing it", child.pid)
            child.retire = True
        elif child.tries >= self.max_tries_per_child:
            logger.info("worker child %s ran %s tries; replacing it", child.pid, child.tries)
            child.retire = True

    def _retire(self) -> None:
        """Ask the idle child to exit (its job pipe closes), kill it if it lingers."""
        child = self._child
        if child is None:
            return
        with contextlib.suppress(OSError):
            # Said, not only implied by closing: a process forked from the worker meanwhile
            # (RQ restarting its scheduler) may hold the pipe open.
            child.jobs.send(None)
        child.jobs.close()
        ready, _, _ = select.select([child.pidfd], [], [], RETIRE_GRACE_SECONDS)
        if not ready:
            logger.warning("worker child %s did not exit; killing it", child.pid)
            self.kill_horse()
        self._reap(child)

    def _reap(self, child: _Child) -> tuple[int | None, int | None, Any]:
        """Wait for the exited (or killed) child, forget it; its wait status."""
        pid, status, rusage = None, None, None
        with contextlib.suppress(ChildProcessError):
            pid, status, rusage = os.wait4(child.pid, 0)
        if self._child is child:
            self._child = None
        for handle in (child.jobs, child.results):
            handle.close()
        with contextlib.suppress(OSError):
            os.close(child.pidfd)
        retire_process(child.pid)
        logger.debug("worker child %s ended (status %s)", child.pid, status)
        return pid, status, rusage

    def _fork_child(self) -> _Child:
        job_reader, job_writer = Pipe(duplex=False)
        result_reader, result_writer = Pipe(duplex=False)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            job_writer.close()
            result_reader.close()
            self._child_loop(job_reader, result_writer, parent)
        job_reader.close()
        result_writer.close()
        self.children_started += 1
        logger.info("forked worker child %s", pid)
        return _Child(pid=pid, pidfd=os.pidfd_open(pid), jobs=job_writer, results=result_reader)

    # --- the child's side -------------------------------------------------------------

    def _child_loop(self, jobs: Connection, results: Connection, parent: int) -> NoReturn:
        """Run jobs as they come until the pipe closes or the worker dies; never returns."""
        status = 0
        try:
            os.setpgrp()
            random.seed()
            self.setup_work_horse_signals()  # type: ignore[no-untyped-call]
            self._is_horse = True
            self.log = logger
            self._child = None  # the worker's record of a previous child is not ours
            while (request := _next_request(jobs, parent)) is not None:
                results.send(self._run_request(*request))
        except BaseException:
            logger.exception("worker child %s failed", os.getpid())
            status = 1
        finally:
            os._exit(status)

    def _run_request(self, job_id: str, queue_name: str, execution_id: str) -> dict[str, Any]:
        os.environ["RQ_JOB_ID"] = job_id
        os.environ["RQ_EXECUTION_ID"] = execution_id
        job = self.job_class.fetch(job_id, connection=self.connection, serializer=self.serializer)
        queue = self.queue_class(
            queue_name,
            connection=self.connection,
            job_class=self.job_class,
            serializer=self.serializer,
            death_penalty_class=self.death_penalty_class,
        )
        execution = Execution.fetch(execution_id, job_id, connection=self.connection)
        execution._job = job
        self.executions = {execution.id: execution}
        before = _dag_replacements()
        self.perform_job(job, queue, execution)
        return {"dags_changed": _dag_replacements() > before}


def _next_request(jobs: Connection, parent: int) -> tuple[str, str, str] | None:
    """The next job for this child, or None when its worker closed the pipe or died."""
    while not jobs.poll(PARENT_CHECK_SECONDS):
        if os.getppid() != parent:
            return None
    try:
        request = jobs.recv()
    except EOFError:
        return None
    if request is None:  # retired
        return None
    job_id, queue_name, execution_id = request
    return str(job_id), str(queue_name), str(execution_id)


def _exited(pidfd: int) -> bool:
    ready, _, _ = select.select([pidfd], [], [], 0)
    return bool(ready)


@contextlib.contextmanager
def _alarm_blocked() -> Any:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})


def _dag_replacements() -> int:
    """How many times this process re-imported a DAG file whose content had changed."""
    from workers.entry import warm_up

    return warm_up().dag_cache.replacements
