"""``RecordingExecutor``: the executor seam for tests of the scheduler and the task runner.

It records what is submitted and answers ``has_job`` from that record; a job id put in
``lost`` answers False, as a job Redis lost would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from engine.executors.base import TaskJob


@dataclass
class RecordingExecutor:
    """Remembers submitted jobs; ``lost`` job ids answer False to ``has_job``."""

    submitted: list[TaskJob] = field(default_factory=list)
    lost: set[str] = field(default_factory=set)
    batches: list[int] = field(default_factory=list)
    """The size of each ``submit_many`` call, in order."""

    def submit(self, job: TaskJob, *, at: datetime | None = None) -> None:
        self.submitted.append(job)
        self.lost.discard(job.job_id)

    def submit_many(self, jobs: Sequence[TaskJob], *, at: datetime | None = None) -> None:
        self.batches.append(len(jobs))
        for job in jobs:
            self.submit(job, at=at)

    def has_job(self, job_id: str) -> bool:
        return job_id not in self.lost and any(j.job_id == job_id for j in self.submitted)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    @property
    def task_ids(self) -> list[str]:
        return [job.task_id for job in self.submitted]
