"""The ``rq`` executor: task-instance tries as RQ jobs in Redis.

A job carries ids only, as JSON: it calls ``workers.entry.run_job(ti_id=..,
try_number=..)``. Its RQ id is derived from the try's
:attr:`~engine.executors.base.TaskJob.job_id` (``"7:2"`` becomes ``"loom-7-2"``: RQ
refuses ``:``, its key separator), and it is enqueued with RQ's atomic ``unique``
check, so submitting a try that is already queued, scheduled or running does nothing.
A delayed submission uses RQ's own ``enqueue_at``; workers run with RQ's built-in
scheduler, which moves due jobs onto their queue (see ``docs/decisions.md``).

A batch (:meth:`RQExecutor.submit_many`, a fan-out's admitted tries) costs three round
trips whatever its size: ``WATCH`` the jobs' keys, read their statuses in one pipeline,
then write every absent job in one ``MULTI``/``EXEC`` with RQ's ``enqueue_many`` and
``schedule_job``. A job written by anyone between the ``WATCH`` and the ``EXEC`` aborts
the transaction, and the batch falls back to one unique enqueue per job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import WatchError
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.queue import EnqueueData
from rq.serializers import JSONSerializer

from engine.executors.base import DEFAULT_JOB_FUNC, TaskJob
from engine.priority import QUEUE_NAMES
from engine.runtime.redisconn import check, connect

logger = logging.getLogger(__name__)

JOB_TIMEOUT = -1
"""RQ's job timeout: none (-1). Loom enforces ``execution_timeout`` in the runner, and a
worker that dies is found by heartbeat (zombie detection), not by RQ."""

RESULT_TTL = 60
"""Seconds RQ keeps a finished job; its outcome lives in Loom's database."""

FAILURE_TTL = 7 * 24 * 3600
"""Seconds RQ keeps a job whose runner crashed (a bug or a lost database), for debugging."""

BATCH_SIZE = 500
"""The most jobs one transaction of :meth:`RQExecutor.submit_many` writes (a bigger batch
is split), so that Redis is never busy with one ``EXEC`` for long."""

FINAL_STATUSES = frozenset(
    {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
)
"""RQ statuses after which a job will not run again by itself."""


def rq_job_id(job_id: str) -> str:
    """The RQ id of Loom job ``job_id`` (``"7:2"`` → ``"loom-7-2"``)."""
    return "loom-" + job_id.replace(":", "-")


def job_queues(connection: Redis, names: Sequence[str] = QUEUE_NAMES) -> list[Queue]:
    """Loom's RQ queues ``names`` (default: the classes', most urgent first) on
    ``connection``, with the JSON serializer."""
    return [Queue(name, connection=connection, serializer=JSONSerializer) for name in names]


class RQExecutor:
    """Submits tries as RQ jobs to ``loom.high``, ``loom.default`` and ``loom.low``."""

    def __init__(self, redis: str | Redis, *, job_func: str = DEFAULT_JOB_FUNC) -> None:
        self._connection = connect(redis) if isinstance(redis, str) else redis
        self._job_func = job_func
        self._queues = {queue.name: queue for queue in job_queues(self._connection)}

    @property
    def connection(self) -> Redis:
        """The Redis connection jobs are written with."""
        return self._connection

    def start(self) -> None:
        """Check that Redis answers and takes the credentials, so that a wrong
        ``redis.url`` fails at start with a clear message (ConfigError)."""
        check(self._connection)

    def stop(self) -> None:
        """Close idle connections; a later call reconnects."""
        self._connection.close()

    def submit(self, job: TaskJob, *, at: datetime | None = None) -> None:
        """Enqueue ``job`` on its class's queue (at ``at``, if given) unless it is pending.

        A job left from an earlier delivery of the same try that has finished or failed
        is replaced: the scheduler only re-submits a try when :meth:`has_job` said it
        was gone, and the runner's claim (compare-and-set) ignores a stale delivery.
        """
        _check_aware(at)
        if self._enqueue_unique(job, at):
            return
        if self._drop_if_final(rq_job_id(job.job_id)) and self._enqueue_unique(job, at):
            return
        logger.debug("job %s (%s) is already pending; not submitted again", job.job_id, job)

    def submit_many(self, jobs: Sequence[TaskJob], *, at: datetime | None = None) -> None:
        """:meth:`submit` each of ``jobs`` (at ``at``, if given), in three round trips a
        batch of up to :data:`BATCH_SIZE` instead of several a job; the same guarantees:
        a pending job is left alone, a final one is replaced."""
        _check_aware(at)
        distinct = list({job.job_id: job for job in jobs}.values())
        for start in range(0, len(distinct), BATCH_SIZE):
            self._submit_batch(distinct[start : start + BATCH_SIZE], at)

    def has_job(self, job_id: str) -> bool:
        """True while the job is in Redis and not final (queued, scheduled, started, ...)."""
        status = self._status(rq_job_id(job_id))
        return status is not None and status not in FINAL_STATUSES

    def _submit_batch(self, jobs: list[TaskJob], at: datetime | None) -> None:
        if len(jobs) == 1:  # one atomic script call: fewer round trips than a transaction
            self.submit(jobs[0], at=at)
            return
        with self._connection.pipeline() as pipe:
            # Watched before the read: a job written after it aborts the EXEC below.
            keys = [Job.key_for(rq_job_id(job.job_id)) for job in jobs]
            pipe.watch(*keys)  # type: ignore[no-untyped-call]
            statuses = self._statuses([rq_job_id(job.job_id) for job in jobs])
            absent = [job for job, status in zip(jobs, statuses, strict=True) if status is None]
            pipe.multi()
            self._write_absent(pipe, absent, at)
            try:
                pipe.execute()
            except WatchError:
                logger.info("a batch of %s jobs changed in Redis meanwhile: one by one",
                            len(jobs))  # fmt: skip
                for job in jobs:
                    self.submit(job, at=at)
                return
        self._log_batch(absent, at)
        for job, status in zip(jobs, statuses, strict=True):
            if status in FINAL_STATUSES:
                self.submit(job, at=at)  # rare: replaced one at a time, as submit does
            elif status is not None:
                logger.debug("job %s (%s) is already pending; not submitted again",
                             job.job_id, job)  # fmt: skip

    def _write_absent(self, pipe: Pipeline, jobs: list[TaskJob], at: datetime | None) -> None:
        """Queue ``jobs`` (none of which is in Redis) on ``pipe``, with RQ's own writes."""
        by_queue: dict[str, list[TaskJob]] = {}
        for job in jobs:
            by_queue.setdefault(job.queue, []).append(job)
        for name, queued in by_queue.items():
            queue = self._queue(name)
            if at is None:
                queue.enqueue_many([self._enqueue_data(job) for job in queued], pipeline=pipe)
                continue
            for job in queued:
                rq_job = queue.create_job(**self._job_arguments(job), status=JobStatus.SCHEDULED)
                queue.schedule_job(rq_job, _whole_second_up(at), pipeline=pipe)

    def _enqueue_data(self, job: TaskJob) -> EnqueueData:
        return Queue.prepare_data(**self._job_arguments(job))

    def _job_arguments(self, job: TaskJob) -> dict[str, Any]:
        """RQ's arguments for ``job``'s RQ job: ids only, as JSON; no RQ timeout."""
        return {
            "func": self._job_func,
            "kwargs": {"ti_id": job.ti_id, "try_number": job.try_number},
            "job_id": rq_job_id(job.job_id),
            "timeout": JOB_TIMEOUT,
            "result_ttl": RESULT_TTL,
            "failure_ttl": FAILURE_TTL,
            "description": job.describe(),
        }

    def _log_batch(self, jobs: list[TaskJob], at: datetime | None) -> None:
        for job in jobs:
            logger.info("submitted job %s (%s) to %s%s", job.job_id, job.describe(), job.queue,
                        "" if at is None else f" at {at.isoformat()}")  # fmt: skip

    def _queue(self, name: str) -> Queue:
        queue = self._queues.get(name)
        if queue is None:  # a named queue (loom.gpu): made on first use
            [queue] = job_queues(self._connection, [name])
            self._queues[name] = queue
        return queue

    def _enqueue_unique(self, job: TaskJob, at: datetime | None) -> bool:
        queue = self._queue(job.queue)
        rq_job = queue.create_job(
            **self._job_arguments(job),
            status=JobStatus.QUEUED if at is None else JobStatus.SCHEDULED,
        )
        try:
            if at is None:
                queue.enqueue_job(rq_job, unique=True)
            else:
                queue.schedule_job(rq_job, _whole_second_up(at), unique=True)
        except DuplicateJobError:
            return False
        logger.info(
            "submitted job %s (%s) to %s%s",
            job.job_id,
            job.describe(),
            job.queue,
            "" if at is None else f" at {at.isoformat()}",
        )
        return True

    def _drop_if_final(self, rq_id: str) -> bool:
        status = self._status(rq_id)
        if status is None:  # expired or deleted since the duplicate check
            return True
        if status not in FINAL_STATUSES:
            return False
        try:
            Job.fetch(rq_id, connection=self._connection, serializer=JSONSerializer).delete()
        except NoSuchJobError:
            return True
        logger.info("replacing RQ job %s, which was %s", rq_id, status.value)
        return True

    def _status(self, rq_id: str) -> JobStatus | None:
        return _parse_status(rq_id, self._connection.hget(Job.key_for(rq_id), "status"))

    def _statuses(self, rq_ids: Sequence[str]) -> list[JobStatus | None]:
        """:meth:`_status` of each of ``rq_ids``, read in one pipeline."""
        pipe = self._connection.pipeline(transaction=False)
        for rq_id in rq_ids:
            pipe.hget(Job.key_for(rq_id), "status")
        raws = pipe.execute()
        return [_parse_status(rq_id, raw) for rq_id, raw in zip(rq_ids, raws, strict=True)]


def _parse_status(rq_id: str, raw: Any) -> JobStatus | None:
    """The status read from RQ job ``rq_id``'s hash; None when it is not in Redis."""
    if not raw:
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    try:
        return JobStatus(text)
    except ValueError:  # a status a newer RQ introduced: treat it as pending
        logger.warning("RQ job %s has unknown status %r", rq_id, text)
        return JobStatus.QUEUED


def _check_aware(at: datetime | None) -> None:
    if at is not None and at.tzinfo is None:
        raise ValueError(f"at must be timezone-aware, got {at!r}")


def _whole_second_up(at: datetime) -> datetime:
    """RQ keeps due times in whole seconds, cut down; round up so a job never runs early."""
    if at.microsecond == 0:
        return at
    return at.replace(microsecond=0) + timedelta(seconds=1)
