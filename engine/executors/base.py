"""What every executor shares: the job record it transports and the seam it implements.

An executor is transport only. The database says what should run; an executor carries
``(ti_id, try_number)`` to a worker, which claims the try with a compare-and-set and
does nothing if the claim is lost. A duplicate delivery is therefore harmless, and a
lost one is found and re-submitted by the scheduler's reconciliation
(:meth:`Executor.has_job`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from engine.priority import (
    PRIORITY_CLASSES,
    QUEUE_NAMES,
    PriorityClass,
    is_queue_name,
    queue_name,
    try_job_id,
)

DEFAULT_JOB_FUNC = "workers.entry.run_job"
"""Dotted path of the function a worker calls with ``ti_id`` and ``try_number``."""

DAG_CALLBACK_FUNC = "workers.entry.run_dag_callbacks"
"""Dotted path of the function a worker calls with a :class:`CallbackJob`'s fields."""

LOOM_ENTRY_POINTS = frozenset({DEFAULT_JOB_FUNC, DAG_CALLBACK_FUNC})
"""Every function Loom enqueues jobs for: what a worker runs by default."""


@dataclass(frozen=True)
class TaskJob:
    """One try of one task instance, on its way to a worker.

    ``queue`` is the task instance's ``queue`` column, where the executor puts the job;
    left out, it is the queue of ``priority_class``.
    """

    ti_id: int
    try_number: int
    dag_id: str
    run_id: str
    task_id: str
    priority_class: str
    queue: str = ""

    def __post_init__(self) -> None:
        if self.priority_class not in PRIORITY_CLASSES:
            raise ValueError(
                f"priority_class must be one of {', '.join(PRIORITY_CLASSES)}, "
                f"got {self.priority_class!r}"
            )
        if not self.queue:
            # Frozen: the derived default is set the way dataclasses set fields.
            object.__setattr__(self, "queue", queue_name(self.priority_class))
        if not is_queue_name(self.queue):
            raise ValueError(
                f"queue must be one of {', '.join(QUEUE_NAMES)} or loom.<name>, got {self.queue!r}"
            )

    @property
    def job_id(self) -> str:
        """``"{ti_id}:{try_number}"``: the same try always has the same id."""
        return try_job_id(self.ti_id, self.try_number)

    @property
    def rank(self) -> int:
        """0 for ``high``, 1 for ``default``, 2 for ``low``."""
        return PriorityClass(self.priority_class).rank

    def describe(self) -> str:
        """``dag_id/run_id/task_id try n`` for log lines and job descriptions."""
        return f"{self.dag_id}/{self.run_id}/{self.task_id} try {self.try_number}"


@dataclass(frozen=True)
class CallbackJob:
    """A request to run a finished run's DAG callbacks (``on_success`` or ``on_failure``),
    on its way to a worker; ``request_id`` is its outbox row's id."""

    request_id: int
    dag_run_id: int
    state: str
    """The run's final state: ``success`` or ``failed``."""
    reason: str
    """The ``reason`` of the callbacks' context (``success``, ``task_failure``, ``timed_out``)."""

    @property
    def job_id(self) -> str:
        """The same request always has the same id: a second delivery is no second job."""
        return f"callback-{self.request_id}"

    def kwargs(self) -> dict[str, int | str]:
        """The job function's arguments (ids and words only: JSON)."""
        return {
            "request_id": self.request_id,
            "dag_run_id": self.dag_run_id,
            "state": self.state,
            "reason": self.reason,
        }


def job_ids(jobs: Sequence[TaskJob], *, shown: int = 5) -> str:
    """``"7:1, 8:1, ... (+998 more)"``: a batch's job ids for a log line, the first ``shown``."""
    text = ", ".join(job.job_id for job in jobs[:shown])
    return text if len(jobs) <= shown else f"{text} (+{len(jobs) - shown} more)"


class CallbackTransport(Protocol):
    """Carries DAG callback requests to where user code may run (a worker)."""

    def submit_callbacks(self, job: CallbackJob) -> None:
        """Hand ``job`` over; raises when it could not (the outbox retries)."""

    def close(self) -> None:
        """Release connections; the next submission opens them again."""


class Executor(Protocol):
    """Carries task-instance tries to workers."""

    def submit(self, job: TaskJob, *, at: datetime | None = None) -> None:
        """Deliver ``job`` now, or not before ``at`` (timezone-aware).

        Submitting a try that is already pending or running does nothing.
        """

    def submit_many(self, jobs: Sequence[TaskJob], *, at: datetime | None = None) -> None:
        """:meth:`submit` each of ``jobs``, as one batch where the transport has batches
        (one Redis transaction for RQ; a loop for the in-process executor)."""

    def has_job(self, job_id: str) -> bool:
        """True while the job is pending (queued, scheduled) or running."""

    def start(self) -> None:
        """Acquire what the executor needs (processes, connections)."""

    def stop(self) -> None:
        """Release it; running tasks get a grace period to finish."""
