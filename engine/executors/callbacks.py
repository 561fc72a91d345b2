"""Transports of DAG callback requests to where user code runs.

* :class:`RQCallbackTransport` (``executor.kind: rq``): an RQ job on ``loom.default``
  calling ``workers.entry.run_dag_callbacks`` with ids only, as JSON; its RQ id comes
  from the request (``loom-callback-<id>``) and is enqueued with RQ's ``unique`` check,
  so a second delivery of the same request while the first is pending adds nothing.
* :class:`ProcessCallbackTransport` (``executor.kind: local``, ``loom standalone``): a
  new process, forked by the process's forkserver (:mod:`engine.runtime.forkserver`),
  runs the same function and exits. The scheduler's process only starts it: the DAG
  file is imported there, never here.
"""

from __future__ import annotations

import importlib
import logging
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from engine.executors.base import DAG_CALLBACK_FUNC, CallbackJob
from engine.priority import queue_name
from engine.runtime import forkserver

if TYPE_CHECKING:
    from redis import Redis

logger = logging.getLogger(__name__)

CALLBACK_PRIORITY = "default"
"""The priority class whose queue carries callback jobs (every worker listens to it)."""


class RQCallbackTransport:
    """Enqueues each request as an RQ job for Loom's workers."""

    def __init__(self, redis: str | Redis, *, job_func: str = DAG_CALLBACK_FUNC) -> None:
        # Imported here: the local executor's transport (standalone) never loads rq.
        from rq import Queue
        from rq.serializers import JSONSerializer

        from engine.runtime.redisconn import connect

        self._connection = connect(redis) if isinstance(redis, str) else redis
        self._job_func = job_func
        self._queue = Queue(
            queue_name(CALLBACK_PRIORITY), connection=self._connection, serializer=JSONSerializer
        )

    def submit_callbacks(self, job: CallbackJob) -> None:
        from rq.exceptions import DuplicateJobError

        from engine.executors.rq_executor import FAILURE_TTL, JOB_TIMEOUT, RESULT_TTL

        rq_job = self._queue.create_job(
            self._job_func,
            kwargs=job.kwargs(),
            job_id=f"loom-{job.job_id}",
            timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            description=f"DAG callbacks of dag run {job.dag_run_id} ({job.state})",
        )
        try:
            self._queue.enqueue_job(rq_job, unique=True)
        except DuplicateJobError:
            logger.debug("callback job %s is already pending", job.job_id)
            return
        logger.info("submitted callback job %s (dag run %s, %s)", job.job_id, job.dag_run_id,
                    job.state)  # fmt: skip

    def close(self) -> None:
        self._connection.close()


class ProcessCallbackTransport:
    """Runs each request in a process of its own (no Redis: ``loom standalone``)."""

    def __init__(self, *, job_func: str = DAG_CALLBACK_FUNC) -> None:
        self._job_func = job_func
        forkserver.preload(job_func.rpartition(".")[0])
        self._running: list[BaseProcess] = []

    def submit_callbacks(self, job: CallbackJob) -> None:
        self._reap()
        process = forkserver.context().Process(
            target=_call,
            args=(self._job_func, job.kwargs(), forkserver.Surroundings.now()),
            name=f"loom-{job.job_id}",
        )
        process.start()
        self._running.append(process)
        logger.info("started callback process %s for dag run %s (%s)", process.pid,
                    job.dag_run_id, job.state)  # fmt: skip

    def close(self) -> None:
        """Wait a moment for callbacks still running, so that none is left a zombie."""
        for process in self._running:
            process.join(timeout=5)
        self._reap()

    def _reap(self) -> None:
        alive = []
        for process in self._running:
            if process.is_alive():
                alive.append(process)
            else:
                process.join()
        self._running = alive


def _call(job_func: str, kwargs: dict[str, Any], surroundings: forkserver.Surroundings) -> None:
    surroundings.enter()
    module_name, _, name = job_func.rpartition(".")
    getattr(importlib.import_module(module_name), name)(**kwargs)
