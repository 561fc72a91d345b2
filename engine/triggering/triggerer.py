"""``loom triggerer``'s loop: claim triggers, run them in one asyncio loop, record what
fired, heartbeat, every ``triggerer.poll_interval``.

The database work of a poll (:meth:`Triggerer.sync`) runs in a thread beside the loop,
each step in its own transaction, so a slow database never stalls the triggers and a
failing step is logged and tried again at the next poll (outcomes it could not write are
kept). Nothing is lost when the process dies (``kill -9``): its triggers stay in the
database, claimed by an id whose heartbeat stops, and another triggerer (or this one
restarted) takes them over once ``triggerer.heartbeat_threshold`` has passed. A trigger
that fired twice (before and after a takeover) resumes its task once: the resume is a
compare-and-set.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from engine.config.schema import TriggererSettings
from engine.eventloop import run_to_completion
from engine.execution.deferral import delete_unused_triggers
from engine.scheduling.heartbeats import scheduler_id as process_id
from engine.timeutil import utcnow
from engine.triggering.claims import (
    TriggerSpec,
    claim_triggers,
    claimed_triggers,
    record_failed,
    record_fired,
    record_triggerer_heartbeat,
    release_triggers,
)
from engine.triggering.runner import LoopWatchdog, Outcome, TriggerRunner

logger = logging.getLogger(__name__)

CLEANUP_EVERY = 30
"""Polls between two deletions of triggers no deferred task waits on any more."""


class Triggerer:
    """Runs deferred tasks' triggers until stopped; several may run side by side."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        settings: TriggererSettings,
        clock: Callable[[], datetime] = utcnow,
        triggerer_id: str | None = None,
    ) -> None:
        self._sessions = session_factory
        self._settings = settings
        self._clock = clock
        self.id = triggerer_id or process_id()
        self._polls = 0

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set; then give the triggers back for another triggerer."""
        run_to_completion(self._main(stop))

    async def _main(self, stop: threading.Event) -> None:
        logger.info("triggerer %s started (capacity %s)", self.id, self._settings.capacity)
        runner = TriggerRunner()
        watchdog = LoopWatchdog(asyncio.get_running_loop())
        ticker = asyncio.create_task(watchdog.tick())
        watchdog.start()
        interval = self._settings.poll_interval.total_seconds()
        try:
            while not stop.is_set():
                await self.poll(runner)
                await asyncio.to_thread(stop.wait, interval)
        finally:
            watchdog.stop()
            ticker.cancel()
            await runner.stop()
            self._step("release", lambda s: release_triggers(session=s, triggerer_id=self.id))
            logger.info("triggerer %s stopped", self.id)

    async def poll(self, runner: TriggerRunner) -> None:
        """One pass: write what fired, heartbeat, claim, then run what this one holds."""
        outcomes = runner.take_outcomes()
        running = len(runner.tasks)
        wanted, unwritten = await asyncio.to_thread(self.sync, outcomes, running)
        runner.outcomes.extend(unwritten)
        if wanted is not None:
            runner.update(wanted)

    def sync(
        self, outcomes: list[Outcome], running: int
    ) -> tuple[dict[int, TriggerSpec] | None, list[Outcome]]:
        """The database side of a poll, each step in its own transaction: the triggers
        this triggerer holds now (None when they could not be read) and the outcomes not
        written (to try again)."""
        now = self._clock()
        unwritten = [o for o in outcomes if not self._step("record", self._writer(o, now))]
        self._step(
            "heartbeat",
            lambda s: record_triggerer_heartbeat(
                session=s, triggerer_id=self.id, now=now,
                capacity=self._settings.capacity, running=running,
            ),
        )  # fmt: skip
        self._step("claim", lambda s: self._claim(s, now))
        self._polls += 1
        if self._polls % CLEANUP_EVERY == 1:
            self._step("cleanup", lambda s: delete_unused(s))
        held: dict[int, TriggerSpec] = {}
        if not self._step("read", lambda s: held.update(self._held(s))):
            return None, unwritten
        return held, unwritten

    def _held(self, session: Session) -> dict[int, TriggerSpec]:
        return claimed_triggers(session=session, triggerer_id=self.id)

    def _claim(self, session: Session, now: datetime) -> None:
        claim_triggers(
            session=session,
            triggerer_id=self.id,
            now=now,
            capacity=self._settings.capacity,
            threshold=self._settings.heartbeat_threshold,
        )

    @staticmethod
    def _writer(outcome: Outcome, now: datetime) -> Callable[[Session], object]:
        if outcome.error is None:
            return lambda s: record_fired(
                session=s, trigger_id=outcome.trigger_id, payload=outcome.payload, now=now
            )
        return lambda s: record_failed(
            session=s, trigger_id=outcome.trigger_id, message=outcome.error or "",
            traceback=outcome.traceback, now=now,
        )  # fmt: skip

    def _step(self, name: str, body: Callable[[Session], object]) -> bool:
        try:
            with self._sessions.begin() as session:
                body(session)
        except Exception:  # the next poll tries again; logged with its traceback
            logger.exception("triggerer %s: step %r failed", self.id, name)
            return False
        return True


def delete_unused(session: Session) -> None:
    """Delete triggers no deferred instance waits on (its task cleared, marked, removed)."""
    deleted = delete_unused_triggers(session=session)
    if deleted:
        logger.info("deleted %s triggers no task waits on", deleted)
