"""Waking the scheduler early: a task finished, a run was triggered or cleared.

The scheduler ticks every ``scheduler.tick_interval``; in between it waits on a
:class:`Waker` and ticks at once when woken, so a slot freed or a run triggered is acted
on in milliseconds rather than at the next tick.

On PostgreSQL the wake is ``NOTIFY loom_scheduler``, issued by :func:`request_wake`
inside the transaction of the change that warrants it: PostgreSQL delivers it only when
that transaction commits, to every listening scheduler on any machine
(:class:`PostgresWaker`). On SQLite (``loom standalone`` on one machine) the local
executor runs in the scheduler's process and wakes it directly (:class:`LocalWaker`).
A lost wake costs nothing but latency: the next full tick does the same work.

psycopg is imported where a :class:`PostgresWaker` uses it: :func:`request_wake` is on
the path of every trigger and clear, and on SQLite it must not load the PostgreSQL driver.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

CHANNEL = "loom_scheduler"
"""The PostgreSQL notification channel schedulers listen on."""

RECONNECT_PAUSE_SECONDS = 1.0
"""How long a waker whose connection failed sleeps before it tries again."""


class Waker(Protocol):
    """What the scheduler waits on between ticks."""

    def wait(self, timeout: float) -> bool:
        """Block until woken or ``timeout`` seconds passed; True when woken."""
        ...

    def wake(self) -> None:
        """Wake the waiting scheduler (or make its next wait return at once)."""
        ...

    def close(self) -> None: ...


def request_wake(*, session: Session) -> None:
    """Ask the schedulers to tick as soon as this transaction commits (PostgreSQL only;
    elsewhere the next tick comes on its own)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text(f"NOTIFY {CHANNEL}"))


class LocalWaker:
    """A wake within one process: an event."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def wait(self, timeout: float) -> bool:
        woken = self._event.wait(timeout)
        self._event.clear()
        return woken

    def wake(self) -> None:
        self._event.set()

    def close(self) -> None:
        self._event.set()


class PostgresWaker:
    """Listens on :data:`CHANNEL` over its own autocommit connection.

    Notifications that arrive together wake the scheduler once. When the connection
    fails, the waker sleeps out the timeout (the scheduler keeps ticking on its interval)
    and reconnects on the next wait.
    """

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._listener: psycopg.Connection[tuple[object, ...]] | None = None
        self._local = LocalWaker()
        self._lock = threading.Lock()

    def wait(self, timeout: float) -> bool:
        import psycopg

        try:
            listener = self._listening()
            woken = any(True for _ in listener.notifies(timeout=timeout, stop_after=1))
            if woken:  # coalesce the wakes that piled up meanwhile
                for _ in listener.notifies(timeout=0.0):
                    pass
            return woken
        except psycopg.Error:
            logger.warning("scheduler wake-up listener failed; retrying", exc_info=True)
            self._drop_listener()
            return self._local.wait(min(timeout, RECONNECT_PAUSE_SECONDS))

    def wake(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self._conninfo, autocommit=True) as conn:
                conn.execute(f"NOTIFY {CHANNEL}")
        except psycopg.Error:
            logger.warning("could not wake the scheduler", exc_info=True)

    def close(self) -> None:
        self._drop_listener()
        self._local.close()

    def _listening(self) -> psycopg.Connection[tuple[object, ...]]:
        import psycopg

        with self._lock:
            if self._listener is None or self._listener.closed:
                listener = psycopg.connect(self._conninfo, autocommit=True)
                listener.execute(f"LISTEN {CHANNEL}")
                self._listener = listener
            return self._listener

    def _drop_listener(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None


def build_waker(database_url: str) -> Waker:
    """The waker that reaches this database's schedulers."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return PostgresWaker(database_url)
    return LocalWaker()
