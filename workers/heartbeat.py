"""The heartbeat of a running try: proof for the scheduler that its worker is alive.

A background thread writes ``last_heartbeat_at`` every ``interval``, guarded like every
write (``WHERE id = :id AND state = 'running' AND try_number = :n``), each beat in its
own short transaction. It goes on through the finish (which may wait out a database
outage, :mod:`workers.durablefinish`) and stops when the finish is done, when the row has
moved on (the scheduler declared the try a zombie, or someone marked it), or once ``stop_at`` has
passed: a task that ran past its ``execution_timeout`` and could not be interrupted
then stops looking alive, and the scheduler's zombie detection fails the try.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import TaskInstance
from engine.state import TaskInstanceState
from workers.periodic import TryThread

logger = logging.getLogger(__name__)

THREAD_NAME_PREFIX = "loom-heartbeat"
"""Name prefix of heartbeat threads (the log capture leaves their records out)."""


def beat(*, session: Session, ti_id: int, try_number: int, now: datetime) -> bool:
    """Record a heartbeat for try ``try_number`` of ``ti_id``; False when it is not running."""
    stmt = (
        sa.update(TaskInstance)
        .where(
            TaskInstance.id == ti_id,
            TaskInstance.state == TaskInstanceState.RUNNING,
            TaskInstance.try_number == try_number,
        )
        .values(last_heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(stmt)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class Heartbeat(TryThread):
    """A thread that beats for one try; use it as a context manager around the attempt."""

    def __init__(
        self,
        *,
        session_factory: Callable[[], Session],
        ti_id: int,
        try_number: int,
        interval: timedelta,
        clock: Callable[[], datetime],
        stop_at: float | None = None,
    ) -> None:
        super().__init__(
            name=THREAD_NAME_PREFIX,
            interval=interval,
            session_factory=session_factory,
            ti_id=ti_id,
            try_number=try_number,
        )
        self.clock = clock
        self.stop_at = stop_at
        """A ``time.monotonic()`` value after which no more beats are sent."""
        self.beats = 0
        self.lost = False
        """True once a beat found the row no longer running this try."""
        self._finishing = False

    def attempt_ended(self) -> None:
        """The task has returned and its finish begins: no time limit applies any more
        (the finish bounds its own retries), and the row leaving ``running`` is expected."""
        self.stop_at = None
        self._finishing = True

    def step(self) -> bool:
        return not self._past_deadline() and self._beat_once()

    def _past_deadline(self) -> bool:
        if self.stop_at is None or time.monotonic() < self.stop_at:
            return False
        logger.error(
            "task instance %s try %s: still running past its execution_timeout; heartbeats "
            "stop so that the scheduler fails the try as a zombie",
            self.ti_id, self.try_number,
        )  # fmt: skip
        return True

    def _beat_once(self) -> bool:
        """One beat; False when the thread should stop."""
        alive = self._write(self._beat, failure="heartbeat failed")
        if alive is None:
            # The database may be back by the next beat; zombie detection covers a long outage.
            return True
        if not alive:
            self.lost = not self._finishing
            # During the finish this is its own commit (or a loss the finish reports).
            logger.log(
                logging.DEBUG if self._finishing else logging.WARNING,
                "task instance %s try %s is no longer running here; heartbeats stop",
                self.ti_id, self.try_number,
            )  # fmt: skip
            return False
        self.beats += 1
        return True

    def _beat(self, session: Session) -> bool:
        return beat(session=session, ti_id=self.ti_id, try_number=self.try_number, now=self.clock())
