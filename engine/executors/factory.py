"""Choosing the executor: the one ``executor.kind`` names for a scheduler, and the one a
task runner inside a worker submits follow-up tries to."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.executors.base import DEFAULT_JOB_FUNC, CallbackTransport, Executor
from engine.executors.local import STOP_TIMEOUT_SECONDS, LocalExecutor, child_executor
from engine.runtime import forkserver

if TYPE_CHECKING:
    from engine.config import Settings


def build_executor(
    settings: Settings,
    *,
    runner: str | None = None,
    on_job_done: Callable[[], None] | None = None,
    stop_timeout: float | None = STOP_TIMEOUT_SECONDS,
) -> Executor:
    """The executor ``executor.kind`` names, not yet started.

    ``runner`` is the dotted path of the job function (default ``workers.entry.run_job``);
    tests pass their own. A local executor calls ``on_job_done`` after each job (the
    scheduler's wake-up); RQ workers wake schedulers through the database instead.
    ``stop_timeout``: how long a local executor's stop waits for running tasks (None: as
    long as they run).
    """
    job_func = runner or DEFAULT_JOB_FUNC
    if settings.executor.kind == "rq":
        # Imported here: a local executor (standalone) never loads rq and redis.
        from engine.executors.rq_executor import RQExecutor

        return RQExecutor(settings.redis.url, job_func=job_func)
    from engine.runtime.heartbeat import HeartbeatSettings  # here: RQ schedulers need none

    forkserver.preload(*_pool_libraries(settings.database.url))
    return LocalExecutor(
        settings.executor.concurrency,
        job_func=job_func,
        on_job_done=on_job_done,
        logging_settings=settings.logging,
        stop_timeout=stop_timeout,
        heartbeat=HeartbeatSettings.from_settings(settings, with_database=True),
    )


POOL_LIBRARIES = ("jinja2", "jsonschema", "croniter", "sqlalchemy.dialects.postgresql")
"""What every pool process of a local executor loads on its first tries (templates,
params, schedules; the models' PostgreSQL column variants), preloaded by the forkserver
so that the pool shares one copy instead of each process importing its own."""


def _pool_libraries(database_url: str) -> list[str]:
    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    return [*POOL_LIBRARIES, f"sqlalchemy.dialects.{backend}"]


def worker_executor(settings: Settings) -> Executor:
    """The executor a task runner submits follow-up tries to, from inside a worker.

    In a local executor's pool process it forwards to that executor; anywhere else
    (an RQ worker) it is an :class:`RQExecutor` on ``redis.url``.
    """
    link = child_executor()
    if link is not None:
        return link
    from engine.executors.rq_executor import RQExecutor

    return RQExecutor(settings.redis.url)


def build_callback_transport(settings: Settings) -> CallbackTransport:
    """Where a scheduler sends DAG callback requests: RQ jobs with ``executor.kind: rq``,
    a process of their own with the local executor (no Redis)."""
    from engine.executors.callbacks import ProcessCallbackTransport, RQCallbackTransport

    if settings.executor.kind == "rq":
        return RQCallbackTransport(settings.redis.url)
    return ProcessCallbackTransport()
