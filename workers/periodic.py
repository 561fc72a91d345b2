"""A background thread that does one step every ``interval`` while a try runs.

Used as a context manager around the attempt; the step returns False to end the thread
early (the try was taken away). Subclasses name their thread with the ``loom-`` prefix
so that the log capture leaves their records out of the task's log.
"""

from __future__ import annotations

import threading
from types import TracebackType


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
