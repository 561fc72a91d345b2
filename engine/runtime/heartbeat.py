"""A worker's or notifier's own heartbeat: a row in ``process_heartbeat`` that says the
process runs, whether or not it has work.

:class:`ProcessHeartbeat` is a thread used as a context manager around the process's
loop: on entry it forgets the rows of processes long silent or dead on this host
(:func:`~engine.scheduling.heartbeats.forget_silent_processes`) and writes its first
beat; then it beats every ``scheduler.heartbeat_interval``; on a clean exit it deletes
its row. Every write is its own transaction and a failed one (the database is briefly
down) is logged and tried again at the next beat: a heartbeat never ends its process.
A process killed without a clean stop leaves its row, which then reads *silent*.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from engine.models.heartbeats import ProcessKind
from engine.runtime.periodic import PeriodicThread, guarded_write
from engine.scheduling.heartbeats import (
    forget_silent_processes,
    process_id,
    record_process_heartbeat,
    remove_process_heartbeat,
)
from engine.timeutil import utcnow

if TYPE_CHECKING:
    import threading

    from engine.config import Settings
    from engine.config.schema import DatabaseSettings
    from engine.delivery.dispatcher import Dispatcher

logger = logging.getLogger(__name__)

THREAD_NAME = "loom-process-heartbeat"


@dataclass(frozen=True)
class HeartbeatSettings:
    """How a process heartbeats; picklable, so that a local executor's pool process gets it."""

    interval: timedelta
    """``scheduler.heartbeat_interval``."""
    forget_dead_here: bool
    """``core.recover_orphaned_tries``: a dead pid of this host means a dead process."""
    database: DatabaseSettings | None = None
    """Where a process without a session factory of its own writes (a pool process)."""

    @classmethod
    def from_settings(cls, settings: Settings, *, with_database: bool = False) -> HeartbeatSettings:
        return cls(
            interval=settings.scheduler.heartbeat_interval,
            forget_dead_here=settings.core.recover_orphaned_tries,
            database=settings.database if with_database else None,
        )


class ProcessHeartbeat(PeriodicThread):
    """Beats for this process as a ``kind`` process while the ``with`` block runs."""

    def __init__(
        self,
        kind: ProcessKind,
        settings: HeartbeatSettings,
        session_factory: sessionmaker[Session] | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(name=THREAD_NAME, interval=settings.interval.total_seconds())
        self.kind = kind
        self.id = process_id()
        self._settings = settings
        self._owns_engine = session_factory is None
        self._sessions = session_factory or _sessions_for(settings)
        self._clock = clock
        self.beats = 0
        self.failures = 0
        """Writes that failed (each logged with its traceback)."""

    def __enter__(self) -> ProcessHeartbeat:
        self._write("forget silent processes", self._forget)
        self.step()
        super().__enter__()
        return self

    def stop(self) -> None:
        """Stop beating and delete this process's row."""
        super().stop()
        self._write(
            "remove heartbeat",
            lambda s: remove_process_heartbeat(session=s, kind=self.kind, id=self.id),
        )
        if self._owns_engine:
            bind = self._sessions.kw["bind"]
            bind.dispose()
        logger.info("%s %s stopped heartbeating", self.kind.value, self.id)

    def step(self) -> bool:
        """One beat; a failed one waits for the next (always True: never ends the thread)."""
        now = self._clock()
        if self._write(
            "heartbeat",
            lambda s: record_process_heartbeat(session=s, kind=self.kind, now=now, id=self.id),
        ):
            self.beats += 1
        return True

    def _forget(self, session: Session) -> None:
        from engine.scheduling.orphans import pid_alive  # here: only a start needs it

        forgotten = forget_silent_processes(
            session=session,
            now=self._clock(),
            hostname=socket.gethostname() if self._settings.forget_dead_here else None,
            alive=pid_alive,
        )
        if forgotten:
            logger.info("forgot %s silent worker or notifier heartbeats", forgotten)

    def _write(self, what: str, write: Callable[[Session], object]) -> bool:
        def written(session: Session) -> bool:
            write(session)
            return True

        done = guarded_write(
            self._sessions,
            written,
            log=logger,
            failure="%s %s: %s failed; trying again at the next beat",
            args=(self.kind.value, self.id, what),
        )
        if done is None:
            self.failures += 1
        return bool(done)


def run_notifier(
    notifier: Dispatcher,
    stop: threading.Event,
    *,
    settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    """Run ``notifier`` until ``stop`` is set (``loom notifier``, standalone's thread),
    heartbeating as a notifier."""
    beat = HeartbeatSettings.from_settings(settings)
    with ProcessHeartbeat(ProcessKind.NOTIFIER, beat, session_factory):
        notifier.run(stop, settings.alerts.poll_interval)


def _sessions_for(settings: HeartbeatSettings) -> sessionmaker[Session]:
    if settings.database is None:
        raise ValueError("a process heartbeat needs a session factory or database settings")
    from engine.models.session import engine_for, make_session_factory

    return make_session_factory(engine_for(settings.database))
