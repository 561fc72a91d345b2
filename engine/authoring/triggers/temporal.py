"""DateTimeTrigger and TimeDeltaTrigger: fire once a moment has passed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from engine.authoring.triggers.base import BaseTrigger, TriggerEvent, classpath_of
from engine.timeutil import utcnow

LONGEST_SLEEP = 60.0
"""Sleep at most this long at once, so a changed clock is noticed within a minute."""


class DateTimeTrigger(BaseTrigger):
    """Fire at ``moment`` (a timezone-aware datetime) with the moment as the payload."""

    def __init__(self, moment: datetime, *, end_from_trigger: bool = False) -> None:
        super().__init__()
        if not isinstance(moment, datetime):
            raise TypeError(f"moment must be a datetime, got {type(moment).__name__}")
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware (a naive datetime is ambiguous)")
        if end_from_trigger:
            raise ValueError("end_from_trigger=True is not supported: the task resumes")
        self.moment = moment
        self.end_from_trigger = end_from_trigger

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return classpath_of(DateTimeTrigger), {"moment": self.moment}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while (left := (self.moment - utcnow()).total_seconds()) > 0:
            await asyncio.sleep(min(left, LONGEST_SLEEP))
        yield TriggerEvent(self.moment)


class TimeDeltaTrigger(DateTimeTrigger):
    """Fire once ``delta`` has passed from now (the moment is fixed when it is built, so
    a triggerer that picks it up again later still fires at the same moment)."""

    def __init__(self, delta: timedelta, *, end_from_trigger: bool = False) -> None:
        if not isinstance(delta, timedelta):
            raise TypeError(f"delta must be a timedelta, got {type(delta).__name__}")
        super().__init__(utcnow() + delta, end_from_trigger=end_from_trigger)
