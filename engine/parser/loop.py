"""The parse loop: keeping the database up to date with the DAG folder, beside the
scheduler's ticks.

Each pass (:meth:`ParseLoop.run_once`) is one :func:`engine.parser.sync.refresh_dags` in
one transaction with a :class:`engine.parser.pool.ParsePool` as its parser: it stores the
files whose parse is done, starts children for the files that changed, and returns
without waiting for any of them. :meth:`ParseLoop.run` passes again as soon as a child is
done, or every ``scheduler.parse_interval`` to notice changes. A DAG file that hangs at
import thus delays only itself (until ``core.parse_timeout`` makes it an import error),
and the scheduler, which runs the loop in a thread of its own, never waits for parsing.

Several schedulers may run the loop side by side: on PostgreSQL a pass takes a
transaction-scoped advisory lock first and is skipped when another scheduler's pass holds
it, so two passes never write the same rows at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.parser.options import ParseOptions
from engine.parser.pool import ParsePool
from engine.parser.sync import RefreshReport, refresh_dags, take_parse_lock
from engine.timeutil import utcnow

logger = logging.getLogger(__name__)


class ParseLoop:
    """Parses the DAG folder in child processes and stores what changed; see the module
    docstring. Tests drive :meth:`run_once` and :meth:`wait` directly."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = session_factory
        self._settings = settings
        self._clock = clock
        self._options = ParseOptions.from_settings(settings)
        self._pool = ParsePool()

    @property
    def in_flight(self) -> list[str]:
        """The files being parsed now."""
        return self._pool.in_flight

    def run_once(self, now: datetime) -> RefreshReport | None:
        """One pass at ``now``, committed; None when another scheduler's pass runs."""
        # Children of files no longer asked for (deleted, or changed back) end here too;
        # uncollected, a dead one would keep waking the loop.
        self._pool.collect()
        with self._sessions.begin() as session:
            if not take_parse_lock(session=session, wait=False):
                return None
            return refresh_dags(session=session, options=self._options, now=now, parser=self._pool)

    def wait(self, timeout: float) -> None:
        """Block until a file's parse is done (or gives up its slot), or ``timeout``."""
        self._pool.wait(timeout)

    def run(self, stop_event: threading.Event) -> None:
        """Pass until ``stop_event`` is set; then kill the children still parsing."""
        interval = self._settings.scheduler.parse_interval.total_seconds()
        logger.info("parse loop started (DAG folder scanned every %ss)", interval)
        try:
            while not stop_event.is_set():
                self._pass_logged()
                if self._pool.in_flight:
                    self._pool.wait(interval)
                else:
                    stop_event.wait(interval)
        finally:
            self.close()
        logger.info("parse loop stopped")

    def close(self) -> None:
        """Kill the children still parsing."""
        self._pool.close()

    def _pass_logged(self) -> None:
        try:
            self.run_once(self._clock())
        except Exception:  # a missing folder or a lost database: the next pass tries again
            logger.exception("parsing the DAG folder failed")
