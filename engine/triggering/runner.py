"""The loop side of the triggerer: each trigger an asyncio task, and a watchdog.

A trigger's first :class:`TriggerEvent` (or its error) is kept in :attr:`TriggerRunner.
outcomes` until the triggerer writes it to the database; the task then ends. Triggers
share one loop, so one that blocks it (``time.sleep``, blocking I/O) delays all: the
:class:`LoopWatchdog` thread notices the loop stalled for more than
:data:`BLOCKED_AFTER` seconds, logs the trigger that held it by id and counts it in
``loom_triggers_blocked_total``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from engine.authoring.triggers.base import BaseTrigger, build_trigger
from engine.authoring.xcomvalues import decode, encode
from engine.metrics import instruments
from engine.triggering.claims import TriggerSpec

logger = logging.getLogger(__name__)

BLOCKED_AFTER = 0.2
"""Seconds the loop may go without running its ticker before a trigger counts as blocking."""

TICK = 0.05
"""How often the loop's ticker notes that the loop is responsive."""

TASK_PREFIX = "trigger-"


@dataclass(frozen=True)
class Outcome:
    """How one trigger ended: fired with ``payload`` (encoded), or failed with ``error``."""

    trigger_id: int
    payload: Any = None
    error: str | None = None
    traceback: str | None = None


class TriggerRunner:
    """Runs the claimed triggers, one asyncio task each, in the running loop."""

    def __init__(self) -> None:
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.outcomes: list[Outcome] = []

    def update(self, wanted: dict[int, TriggerSpec]) -> None:
        """Start the triggers of ``wanted`` not yet running; cancel those no longer wanted
        (fired elsewhere, timed out, their task cleared or marked)."""
        done = {outcome.trigger_id for outcome in self.outcomes}
        for trigger_id in set(self.tasks) - set(wanted):
            self.tasks.pop(trigger_id).cancel()
        for trigger_id, spec in wanted.items():
            if trigger_id not in self.tasks and trigger_id not in done:
                self.tasks[trigger_id] = asyncio.create_task(
                    self._run(trigger_id, spec), name=f"{TASK_PREFIX}{trigger_id}"
                )
        instruments.get().triggers_running.set(len(self.tasks))

    def take_outcomes(self) -> list[Outcome]:
        """The outcomes not yet written (the caller puts back those it could not write)."""
        taken, self.outcomes = self.outcomes, []
        return taken

    async def stop(self) -> None:
        """Cancel every trigger and wait for their cleanup."""
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()
        instruments.get().triggers_running.set(0)

    async def _run(self, trigger_id: int, spec: TriggerSpec) -> None:
        trigger: BaseTrigger | None = None
        try:
            trigger = build_trigger(spec.classpath, decode(spec.kwargs))
            trigger.trigger_id = trigger_id
            async for event in trigger.run():
                logger.info("trigger %s fired: %r", trigger_id, event)
                self._done(Outcome(trigger_id, payload=encode(event.payload)))
                return
            self._fail(trigger_id, RuntimeError("the trigger ended without an event"))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - user code: the error fails its task
            self._fail(trigger_id, exc)
        finally:
            if trigger is not None:
                await _cleanup(trigger_id, trigger)

    def _fail(self, trigger_id: int, exc: BaseException) -> None:
        logger.warning("trigger %s failed: %s: %s", trigger_id, type(exc).__name__, exc)
        text = "".join(traceback.format_exception(exc))
        self._done(Outcome(trigger_id, error=f"trigger failed: {type(exc).__name__}: {exc}",
                           traceback=text))  # fmt: skip

    def _done(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.tasks.pop(outcome.trigger_id, None)
        instruments.get().triggers_running.set(len(self.tasks))


async def _cleanup(trigger_id: int, trigger: BaseTrigger) -> None:
    try:
        await trigger.cleanup()
    except Exception:  # its event is already kept: logged, nothing else to do
        logger.exception("trigger %s: cleanup failed", trigger_id)


class LoopWatchdog:
    """A thread that notices when ``loop`` stops running its ticker for longer than
    :data:`BLOCKED_AFTER` seconds, and names the trigger task it is stuck in."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._last_tick = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="loom-trigger-watchdog",
                                        daemon=True)  # fmt: skip
        self.blocked = 0

    async def tick(self) -> None:
        """The loop's side: note that it is responsive, every :data:`TICK` seconds."""
        while not self._stop.is_set():
            self._last_tick = time.monotonic()
            await asyncio.sleep(TICK)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)

    def _watch(self) -> None:
        reported = 0.0  # the tick of the stall already reported
        while not self._stop.wait(TICK):
            last = self._last_tick
            lag = time.monotonic() - last
            if lag > BLOCKED_AFTER + TICK and last != reported:
                reported = last
                self._report(lag)

    def _report(self, lag: float) -> None:
        task = asyncio.current_task(self._loop)  # read from here: which task holds the loop
        name = task.get_name() if task is not None else ""
        if not name.startswith(TASK_PREFIX):
            # Not inside a trigger: the process was starved (a loaded machine, the GIL
            # held by the scheduler or the webserver beside it in standalone). No trigger
            # to blame, and nothing its author could change.
            logger.debug("the triggerer's event loop waited %.1fs outside any trigger", lag)
            return
        self.blocked += 1
        instruments.get().triggers_blocked.inc()
        logger.warning(
            "trigger %s blocked the triggerer's event loop for more than %.1fs (use "
            "asyncio.sleep and asyncio.to_thread, not time.sleep or blocking I/O)",
            name.removeprefix(TASK_PREFIX), lag,
        )  # fmt: skip
