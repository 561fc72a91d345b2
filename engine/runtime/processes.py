"""The scheduler process, built in one place for ``loom scheduler`` and ``loom standalone``
(and the triggerer, for ``loom triggerer`` and ``loom standalone``).

A scheduler process is the scheduler loop (main thread) with the pieces it drives: the
executor that hands tries to workers, the waker that ends its wait early, and the outbox
relay (a thread) that delivers dead letters. ``loom standalone`` runs the same process
with more services beside it (:mod:`engine.runtime.standalone`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.delivery.dispatcher import Dispatcher
from engine.delivery.relay import build_relay
from engine.executors import Executor, build_callback_transport, build_executor
from engine.executors.local import STOP_TIMEOUT_SECONDS
from engine.plugins.loading import load_plugins_or_log
from engine.scheduling.scheduler import Scheduler
from engine.scheduling.wakeup import Waker, build_waker

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from engine.config import Settings
    from engine.triggering.triggerer import Triggerer

logger = logging.getLogger(__name__)

RELAY_INTERVAL_SECONDS = 1.0
"""How long the outbox relay pauses when it found nothing to deliver."""

JOIN_TIMEOUT_SECONDS = 10
"""How long stopping waits for each thread beside the scheduler."""

Service = Callable[[threading.Event], threading.Thread]
"""Starts a thread that runs beside the scheduler until the event is set; returns it."""


def start_thread(name: str, target: Callable[..., None], *args: object) -> threading.Thread:
    """Start ``target(*args)`` in a daemon thread: a stuck one never keeps the process up."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


@dataclass(frozen=True)
class SchedulerProcess:
    """The pieces of a scheduler process, built but not started."""

    settings: Settings
    session_factory: sessionmaker[Session]
    executor: Executor
    scheduler: Scheduler
    relay: Dispatcher
    waker: Waker
    """Wakes the scheduler early (on PostgreSQL, a LISTEN connection: closed on stop)."""

    def run(self, stop: threading.Event, *, beside: Sequence[Service] = ()) -> None:
        """Run until ``stop`` is set, with the relay and ``beside`` in threads; then stop
        every piece and wait for it."""
        threads: list[threading.Thread] = []
        self.executor.start()
        try:
            threads.append(start_thread("loom-relay", self.relay.run, stop, RELAY_INTERVAL_SECONDS))
            for service in beside:
                threads.append(service(stop))
            self.scheduler.run(stop)
        finally:
            stop.set()
            self.executor.stop()
            for thread in threads:
                thread.join(timeout=JOIN_TIMEOUT_SECONDS)
            self.waker.close()


def build_scheduler_process(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    executor_stop_timeout: float | None = STOP_TIMEOUT_SECONDS,
) -> SchedulerProcess:
    """The scheduler, its executor of ``executor.kind``, its waker and the outbox relay
    (``executor_stop_timeout``: how long stopping waits for a local executor's tasks)."""
    # Plugins' timetables: serialized DAGs name them, and the scheduler computes their runs.
    load_plugins_or_log(settings.core.plugins_folder)
    waker = build_waker(settings.database.url)
    executor = build_executor(settings, on_job_done=waker.wake, stop_timeout=executor_stop_timeout)
    scheduler = Scheduler(
        session_factory=session_factory, executor=executor, settings=settings, waker=waker
    )
    return SchedulerProcess(
        settings=settings,
        session_factory=session_factory,
        executor=executor,
        scheduler=scheduler,
        relay=build_relay(settings, session_factory, callbacks=build_callback_transport(settings)),
        waker=waker,
    )


def build_triggerer(settings: Settings, session_factory: sessionmaker[Session]) -> Triggerer:
    """The triggerer: plugins loaded and ``core.dags_folder`` on ``sys.path``, so that the
    triggers DAGs defer on import as in the workers; task code it runs (the triggers that
    read Loom's metadata) reaches the database through ``session_factory``."""
    import sys

    from engine.execution import secrets
    from engine.models.crypto import crypter_for
    from engine.triggering.triggerer import Triggerer

    load_plugins_or_log(settings.core.plugins_folder)
    folder = str(settings.core.dags_folder)
    if folder not in sys.path:
        sys.path.append(folder)
    secrets.configure(secrets.SecretsStore(session_factory, crypter_for(settings)))
    return Triggerer(session_factory=session_factory, settings=settings.triggerer)
