"""What every executor shares: the job record it transports and the seam it implements.

An executor is transport only. The database says what should run; an executor carries
``(ti_id, try_number)`` to a worker, which claims the try with a compare-and-set and
does nothing if the claim is lost. A duplicate delivery is therefore harmless, and a
lost one is found and re-submitted by the scheduler's reconciliation
(:meth:`Executor.has_job`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

PRIORITY_CLASSES = ("high", "default", "low")
"""Queue classes, most urgent first; a task's ``priority`` is one of them."""

QUEUE_NAMES = tuple(f"loom.{name}" for name in PRIORITY_CLASSES)
"""RQ queues, in the order workers listen to them: ``loom.high``, ``loom.default``,
``loom.low``."""

DEFAULT_JOB_FUNC = "workers.entry.run_job"
"""Dotted path of the function a worker calls with ``ti_id`` and ``try_number``."""


@dataclass(frozen=True)
class TaskJob:
    """One try of one task instance, on its way to a worker."""

    ti_id: int
    try_number: int
    dag_id: str
    run_id: str
    task_id: str
    priority_class: str

    def __post_init__(self) -> None:
        if self.priority_class not in PRIORITY_CLASSES:
            raise ValueError(
                f"priority_class must be one of {', '.join(PRIORITY_CLASSES)}, "
                f"got {self.priority_class!r}"
            )

    @property
    def job_id(self) -> str:
        """``"{ti_id}:{try_number}"``: the same try always has the same id."""
        return f"{self.ti_id}:{self.try_number}"

    @property
    def queue(self) -> str:
        """``loom.<priority_class>``."""
        return f"loom.{self.priority_class}"

    @property
    def rank(self) -> int:
        """0 for ``high``, 1 for ``default``, 2 for ``low``."""
        return PRIORITY_CLASSES.index(self.priority_class)

    def describe(self) -> str:
        """``dag_id/run_id/task_id try n`` for log lines and job descriptions."""
        return f"{self.dag_id}/{self.run_id}/{self.task_id} try {self.try_number}"


class Executor(Protocol):
    """Carries task-instance tries to workers."""

    def submit(self, job: TaskJob, *, at: datetime | None = None) -> None:
        """Deliver ``job`` now, or not before ``at`` (timezone-aware).

        Submitting a try that is already pending or running does nothing.
        """

    def has_job(self, job_id: str) -> bool:
        """True while the job is pending (queued, scheduled) or running."""

    def start(self) -> None:
        """Acquire what the executor needs (processes, connections)."""

    def stop(self) -> None:
        """Release it; running tasks get a grace period to finish."""
