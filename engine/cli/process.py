"""What the long-running process commands share: stopping cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.runtime.interrupt import Interrupts

logger = logging.getLogger(__name__)


def stop_on_signals() -> threading.Event:
    """An event set by the first SIGTERM or SIGINT (Ctrl-C), for a clean shutdown."""
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        logger.warning("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def interrupt_twice_on_signals() -> Interrupts:
    """Events for ``loom standalone``: the first SIGINT or SIGTERM sets ``stop`` (finish
    running tasks), the second ``now`` (stop them now); a third exits at once, leaving
    the tries to the orphan recovery of the next start."""
    from engine.runtime.interrupt import Interrupts

    interrupts = Interrupts()

    def handler(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if not interrupts.stop.is_set():
            logger.warning("received %s: stopping", name)
            interrupts.stop.set()
        elif not interrupts.now.is_set():
            logger.warning("received %s again: stopping running tasks now", name)
            interrupts.now.set()
        else:
            os.write(2, f"received {name} a third time: exiting at once\n".encode())
            os._exit(130)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return interrupts
