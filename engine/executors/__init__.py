"""Executors: transport of task-instance tries from the scheduler to workers.

``rq`` puts each try on a Redis queue (``loom.high``, ``loom.default``, ``loom.low``)
for ``loom worker`` processes; ``local`` runs tries in a pool of processes of the
calling process (``loom standalone``). Both call ``workers.entry.run_job(ti_id,
try_number)`` and both implement :class:`Executor`. The database stays the source of
truth: a submission is idempotent per try, and a lost job is re-submitted by the
scheduler's reconciliation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.executors.base import DEFAULT_JOB_FUNC as DEFAULT_JOB_FUNC
from engine.executors.base import Executor as Executor
from engine.executors.base import TaskJob as TaskJob
from engine.executors.local import LocalExecutor as LocalExecutor
from engine.executors.local import child_executor
from engine.executors.rq_executor import RQExecutor as RQExecutor
from engine.priority import PRIORITY_CLASSES as PRIORITY_CLASSES
from engine.priority import QUEUE_NAMES as QUEUE_NAMES

if TYPE_CHECKING:
    from engine.config import Settings

__all__ = [
    "DEFAULT_JOB_FUNC",
    "PRIORITY_CLASSES",
    "QUEUE_NAMES",
    "Executor",
    "LocalExecutor",
    "RQExecutor",
    "TaskJob",
    "build_executor",
    "worker_executor",
]


def build_executor(
    settings: Settings,
    *,
    runner: str | None = None,
    on_job_done: Callable[[], None] | None = None,
) -> Executor:
    """The executor ``executor.kind`` names, not yet started.

    ``runner`` is the dotted path of the job function (default ``workers.entry.run_job``);
    tests pass their own. A local executor calls ``on_job_done`` after each job (the
    scheduler's wake-up); RQ workers wake schedulers through the database instead.
    """
    job_func = runner or DEFAULT_JOB_FUNC
    if settings.executor.kind == "rq":
        return RQExecutor(settings.redis.url, job_func=job_func)
    return LocalExecutor(
        settings.executor.concurrency,
        job_func=job_func,
        on_job_done=on_job_done,
        logging_settings=settings.logging,
    )


def worker_executor(settings: Settings) -> Executor:
    """The executor a task runner submits follow-up tries to, from inside a worker.

    In a local executor's pool process it forwards to that executor; anywhere else
    (an RQ worker) it is an :class:`RQExecutor` on ``redis.url``.
    """
    link = child_executor()
    if link is not None:
        return link
    return RQExecutor(settings.redis.url)
