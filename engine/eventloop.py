"""Running a coroutine to completion from synchronous code, whatever the thread holds.

``asyncio.run`` refuses to start when the calling thread already runs an event loop (a
notebook, a host application, a test session that drives a browser): then the coroutine
runs on a new loop in a short-lived thread of its own, and the caller waits for it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_to_completion(coroutine: Coroutine[Any, Any, T]) -> T:
    """``coroutine``'s result (or its exception), on this thread when no loop runs here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="loom-coroutine", daemon=True)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value
