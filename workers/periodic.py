"""A background thread that does one step every ``interval`` while a try runs.

Used as a context manager around the attempt; the step returns False to end the thread
early (the try was taken away). Subclasses name their thread with the ``loom-`` prefix
so that the log capture leaves their records out of the task's log. A
:class:`TryThread` writes for one try (the heartbeat, the live log), each write in its
own transaction, and outlives a failed write.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType

from sqlalchemy.orm import Session


class PeriodicThread:
    """Calls :meth:`step` every ``interval`` seconds until stopped or it returns False."""

    def __init__(self, *, name: str, interval: float) -> None:
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> PeriodicThread:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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


class TryThread(PeriodicThread):
    """A periodic thread that writes for one running try, each write in its own short
    transaction; its thread is named ``{name}-{ti_id}-{try_number}``."""

    def __init__(
        self,
        *,
        name: str,
        interval: timedelta,
        session_factory: Callable[[], Session],
        ti_id: int,
        try_number: int,
    ) -> None:
        super().__init__(name=f"{name}-{ti_id}-{try_number}", interval=interval.total_seconds())
        self.session_factory = session_factory
        self.ti_id = ti_id
        self.try_number = try_number

    def _write(self, write: Callable[[Session], bool], *, failure: str) -> bool | None:
        """What ``write`` answered, committed; None when the database failed. The failure
        is logged with its traceback (as ``failure``, by the subclass's module) and the
        thread goes on: the next step tries again."""
        try:
            with self.session_factory() as session, session.begin():
                return write(session)
        except Exception:
            logging.getLogger(type(self).__module__).exception(
                "task instance %s: %s", self.ti_id, failure
            )
            return None
