"""Ctrl-C in ``loom standalone``: the first says what it waits for, the second stops it.

The first SIGINT (or SIGTERM) sets ``stop``: the scheduler takes no more work and the
local executor lets running tasks finish; :func:`watch_interrupts` prints which tasks it
waits for (nothing runs: it exits at once). The second sets ``now``: the executor ends
the running tasks' processes, and :func:`record_interrupted` ends their tries as failed
or up for retry (retries left), with error type ``Interrupted``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from engine.executors.base import TaskJob
from engine.executors.local import LocalExecutor
from engine.scheduling.orphans import fail_stopped_tries
from engine.state import TaskInstanceState
from engine.timeutil import utcnow

logger = logging.getLogger(__name__)

Echo = Callable[[str], None]

STOPPED_MESSAGE = "stopped by a second Ctrl-C in loom standalone"
"""The error message of a try ended that way."""


@dataclass(frozen=True)
class Interrupts:
    """Set by signals: ``stop`` by the first, ``now`` by the second."""

    stop: threading.Event = field(default_factory=threading.Event)
    now: threading.Event = field(default_factory=threading.Event)


def watch_interrupts(interrupts: Interrupts, executor: object, echo: Echo) -> threading.Thread:
    """Start a thread that tells the user what each interrupt does (and makes ``executor``,
    a :class:`LocalExecutor`, stop its tasks on the second)."""
    local = executor if isinstance(executor, LocalExecutor) else None

    def watch() -> None:
        interrupts.stop.wait()
        echo(waiting_line(local.running() if local is not None else []))
        interrupts.now.wait()
        running = local.running() if local is not None else []
        echo(f"stopping now{': ' + _names(running) if running else ''}")
        if local is not None:
            local.stop_now()

    thread = threading.Thread(target=watch, name="loom-interrupts", daemon=True)
    thread.start()
    return thread


def waiting_line(jobs: Sequence[TaskJob]) -> str:
    """What the first Ctrl-C waits for, in a line."""
    if not jobs:
        return "stopping: no task is running"
    count = len(jobs)
    them = "it" if count == 1 else "them"
    return (
        f"waiting for {count} running task{'s' if count > 1 else ''}: {_names(jobs)}"
        f" (Ctrl-C again to stop {them} now)"
    )


def _names(jobs: Sequence[TaskJob]) -> str:
    return ", ".join(f"{job.dag_id}.{job.task_id}" for job in jobs)


def record_interrupted(
    session_factory: sessionmaker[Session], jobs: Sequence[TaskJob], echo: Echo
) -> None:
    """End the tries of ``jobs`` (their processes were just ended) and say how each ended."""
    if not jobs:
        return
    tries = [(job.ti_id, job.try_number) for job in jobs]
    with session_factory.begin() as session:
        ended = fail_stopped_tries(
            session=session, tries=tries, now=utcnow(), message=STOPPED_MESSAGE
        )
        lines = [
            f"stopped {ti.dag_id}.{ti.task_id} (run {ti.run_id}) try {ti.try_number}: "
            + ("up for retry" if state == TaskInstanceState.UP_FOR_RETRY else "failed")
            for ti, state in ended
        ]
    for line in lines:
        echo(line)
