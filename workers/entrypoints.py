"""Workers run Loom's job entry point and nothing else.

An RQ job names the function a worker imports and calls (``"os.system"`` would do), and
anyone who can write to Redis can enqueue one. A Loom worker therefore checks each job
before running it: it must call one of the worker's allowed entry points (by default
only Loom's own, :data:`~engine.executors.base.LOOM_ENTRY_POINTS`: ``workers.entry.run_job``
and ``workers.entry.run_dag_callbacks``), as a plain
function, with no RQ callbacks or webhooks (functions and URLs of the job's own choosing,
which Loom never sets). Any other job is not imported, not run: it is logged and failed
with the reason, never retried, never announced.

The check runs in the worker process, before a work horse forks, on the payload already
read from Redis; the horse runs that same payload.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from rq.exceptions import DeserializationError
from rq.job import Job
from rq.queue import Queue
from rq.utils import now
from rq.worker import BaseWorker, WorkerStatus

from engine.executors.base import LOOM_ENTRY_POINTS

logger = logging.getLogger(__name__)

_CALLBACKS = ("_success_callback_name", "_failure_callback_name", "_stopped_callback_name")
"""Where RQ keeps the names of a job's callbacks (read without importing them)."""


def refusal(job: Job, entry_points: frozenset[str]) -> str | None:
    """Why ``job`` must not run on a worker allowing ``entry_points``; None if it may."""
    try:
        name = job.func_name
        instance = job.instance
    except (DeserializationError, ValueError) as exc:  # pickle, garbage: refused unread
        return f"its payload cannot be read as Loom's JSON ({type(exc).__name__})"
    allowed = ", ".join(sorted(entry_points))
    if not isinstance(name, str) or instance is not None or name not in entry_points:
        return (
            f"it calls {name!r}, and this worker runs only {allowed}; "
            "Loom did not enqueue it: check who can write to Redis"
        )
    extras = [attr.strip("_") for attr in _CALLBACKS if getattr(job, attr, None)]
    if getattr(job, "webhooks", None):
        extras.append("webhooks")
    if extras:
        return f"it carries RQ {', '.join(extras)}, which Loom never sets"
    return None


class RunsOnlyEntryPoints(BaseWorker):
    """An RQ worker that fails, without running, any job :func:`refusal` refuses.

    ``entry_points``: dotted names of the functions jobs may call (tests allow their own).
    """

    def __init__(
        self, *args: Any, entry_points: Iterable[str] = LOOM_ENTRY_POINTS, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.entry_points = frozenset(entry_points)

    def execute_job(self, job: Job, queue: Queue) -> None:
        problem = refusal(job, self.entry_points)
        if problem is None:
            super().execute_job(job, queue)
            return
        logger.error("job %s from %s not run: %s", job.id, queue.name, problem)
        self._fail_unrun(job, queue, f"Loom refused to run job {job.id}: {problem}")

    def _fail_unrun(self, job: Job, queue: Queue, message: str) -> None:
        """Mark ``job`` failed with ``message``, as RQ fails a job that raised."""
        job.retries_left = None  # a refused job stays refused
        job.webhooks = []  # and is announced to no address it names
        execution = self.prepare_execution(job)
        job.ended_at = now()
        self.handle_job_failure(
            job,
            queue=queue,
            started_job_registry=queue.started_job_registry,
            exc_string=message,
            execution=execution,
        )
        self.set_state(WorkerStatus.IDLE)
