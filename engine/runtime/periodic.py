"""A background thread that does one step every ``interval``: a try's heartbeat and live
log (:mod:`workers.periodic`), a worker's or notifier's own heartbeat
(:mod:`engine.runtime.heartbeat`).

Used as a context manager around what it runs beside; the step returns False to end the
thread early. Subclasses name their thread with the ``loom-`` prefix so that the log
capture leaves their records out of a task's log. Their writes go through
:func:`guarded_write`: a failed one (the database is down) is logged and the thread goes
on; the next step tries again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")


def guarded_write(
    session_factory: Callable[[], Session],
    write: Callable[[Session], T],
    *,
    log: logging.Logger,
    failure: str,
    args: tuple[object, ...] = (),
) -> T | None:
    """What ``write`` answered, committed in a transaction of its own; None when it raised,
    after logging the failure (``failure % args``) with its traceback."""
    try:
        with session_factory() as session, session.begin():
            return write(session)
    except Exception:  # a periodic write outlives a database outage; logged with traceback
        log.exception(failure, *args)
        return None


class PeriodicThread:
    """Calls :meth:`step` every ``interval`` seconds until stopped or it returns False."""

    def __init__(self, *, name: str, interval: float) -> None:
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> PeriodicThread:
        self._thread.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop and wait for the thread to end."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def step(self) -> bool:
        """One step; False ends the thread."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            if not self.step():
                return
