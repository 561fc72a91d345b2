"""Each long-running process's /metrics endpoint, served when its port is configured
(``metrics.scheduler_port``, ``metrics.worker_port``, ``metrics.notifier_port``,
``metrics.triggerer_port``).

A port that cannot be bound is logged and the process runs on without an endpoint
(:func:`engine.metrics.exposition.serve_metrics`): metrics never stop the work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from engine.metrics.exposition import serve_metrics, use_multiprocess_dir
from engine.metrics.state import DatabaseState, QueueDepths, StateCollector, StateSource
from engine.timeutil import utcnow

if TYPE_CHECKING:
    from prometheus_client.registry import Collector
    from sqlalchemy.orm import Session, sessionmaker

    from engine.config import Settings


def _no_collectors() -> Sequence[Collector]:
    return ()


@contextmanager
def _served(
    settings: Settings,
    port: int,
    collectors: Callable[[], Sequence[Collector]] = _no_collectors,
) -> Iterator[None]:
    """Serve this process's counts, plus ``collectors``, on ``port`` while the block runs;
    nothing at all when ``port`` is 0."""
    endpoint = None
    if port:
        endpoint = serve_metrics(host=settings.metrics.host, port=port, collectors=collectors())
    try:
        yield
    finally:
        if endpoint is not None:
            endpoint.close()


@contextmanager
def scheduler_metrics(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[None]:
    """The scheduler's /metrics: its own counts, and the state of the whole deployment
    (runs, task instances, dead letters, outbox, import errors, RQ queues)."""

    def deployment_state() -> Sequence[Collector]:
        sources: list[StateSource] = [DatabaseState(session_factory.kw["bind"], clock=utcnow)]
        if settings.executor.kind == "rq":
            sources.append(QueueDepths(settings.redis.url))
        return [StateCollector(sources)]

    with _served(settings, settings.metrics.scheduler_port, deployment_state):
        yield


@contextmanager
def notifier_metrics(settings: Settings) -> Iterator[None]:
    """The notifier's /metrics: what it delivered and what failed."""
    with _served(settings, settings.metrics.notifier_port):
        yield


@contextmanager
def triggerer_metrics(settings: Settings) -> Iterator[None]:
    """The triggerer's /metrics: triggers running, and those that blocked its loop."""
    with _served(settings, settings.metrics.triggerer_port):
        yield


def serve_worker_metrics(settings: Settings) -> None:
    """The worker's /metrics, for the life of the process: its jobs' counts and the depth
    of the RQ queues. Call it before any job runs: what forked work horses and worker
    processes count must reach this process's endpoint."""
    if not settings.metrics.worker_port:
        return
    use_multiprocess_dir("worker")
    serve_metrics(
        host=settings.metrics.host,
        port=settings.metrics.worker_port,
        collectors=[StateCollector([QueueDepths(settings.redis.url)])],
    )
