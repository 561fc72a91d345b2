"""Threads that write for one running try (the heartbeat, the live log), each write in its
own transaction, outliving a failed write; a :class:`TryThread` is a
:class:`~engine.runtime.periodic.PeriodicThread` named ``{name}-{ti_id}-{try_number}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from engine.runtime.periodic import PeriodicThread, guarded_write


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
        return guarded_write(
            self.session_factory,
            write,
            log=logging.getLogger(type(self).__module__),
            failure="task instance %s: %s",
            args=(self.ti_id, failure),
        )
