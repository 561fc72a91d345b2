"""Triggers that misbehave, for the triggerer's tests (importable by class path)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from engine import BaseTrigger, TriggerEvent


class Exploding(BaseTrigger):
    """Raises instead of firing."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{__name__}.Exploding", {}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(0)
        raise OSError("the sensor's endpoint is down")
        yield TriggerEvent(None)  # pragma: no cover - makes run() an async generator


class Blocking(BaseTrigger):
    """Blocks the loop with ``time.sleep`` before firing."""

    def __init__(self, seconds: float = 0.6) -> None:
        super().__init__()
        self.seconds = seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{__name__}.Blocking", {"seconds": self.seconds}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(0.1)
        time.sleep(self.seconds)  # the mistake the watchdog exists for
        yield TriggerEvent("late")
