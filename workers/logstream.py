"""Streaming a running try's log into its attempt row, so that it can be followed live.

A background thread copies the captured tail into ``task_attempt.log`` every ``interval``
when something was written since the last copy, guarded like every write
(``WHERE ... AND state = 'running'``): once the finish has recorded the attempt's outcome
(and its complete log) a late copy changes nothing. A try shorter than ``interval`` is
never copied: it costs nothing but a sleeping thread.

The kept text moves on as a long log passes ``core.max_log_bytes``; ``log_start`` (where
the kept text starts in the whole output) is written with it, so a reader following by
offset (``loom tasks logs --follow``, the API, the UI) stays in step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import TaskAttempt
from engine.state import TaskInstanceState
from workers.logcapture import IGNORED_THREAD_PREFIX, LogSnapshot, TailBuffer
from workers.periodic import TryThread


def store_log(*, session: Session, ti_id: int, try_number: int, snapshot: LogSnapshot) -> bool:
    """Write ``snapshot`` as the log of the running try; False when the try is not running."""
    stmt = (
        sa.update(TaskAttempt)
        .where(
            TaskAttempt.task_instance_id == ti_id,
            TaskAttempt.try_number == try_number,
            TaskAttempt.state == TaskInstanceState.RUNNING.value,
        )
        .values(log=snapshot.text, log_truncated=snapshot.truncated, log_start=snapshot.start)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]


class LogStreamer(TryThread):
    """A thread that copies ``buffer`` into the try's attempt row; a context manager."""

    def __init__(
        self,
        *,
        session_factory: Callable[[], Session],
        ti_id: int,
        try_number: int,
        buffer: TailBuffer,
        interval: timedelta,
    ) -> None:
        super().__init__(
            name=f"{IGNORED_THREAD_PREFIX}logstream",
            interval=interval,
            session_factory=session_factory,
            ti_id=ti_id,
            try_number=try_number,
        )
        self.buffer = buffer
        self.copies = 0
        self._copied_version = 0

    def step(self) -> bool:
        return self.buffer.version == self._copied_version or self._copy()

    def _copy(self) -> bool:
        """One copy; False when the thread should stop (the try is no longer running)."""
        snapshot = self.buffer.snapshot()
        running = self._write(
            lambda session: store_log(
                session=session, ti_id=self.ti_id, try_number=self.try_number, snapshot=snapshot
            ),
            failure="streaming its log failed",
        )
        if running is None:
            # Only the live view suffers; the finish writes the whole log with the outcome.
            return True
        self._copied_version = snapshot.version
        self.copies += 1
        return running
