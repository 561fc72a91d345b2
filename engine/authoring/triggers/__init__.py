"""Triggers: what a deferred task waits on (see :mod:`engine.authoring.triggers.base`)."""

from engine.authoring.triggers.base import BaseTrigger as BaseTrigger
from engine.authoring.triggers.base import TaskDeferralError as TaskDeferralError
from engine.authoring.triggers.base import TaskDeferralTimeout as TaskDeferralTimeout
from engine.authoring.triggers.base import TaskDeferred as TaskDeferred
from engine.authoring.triggers.base import TriggerEvent as TriggerEvent
from engine.authoring.triggers.file import FileTrigger as FileTrigger
from engine.authoring.triggers.temporal import DateTimeTrigger as DateTimeTrigger
from engine.authoring.triggers.temporal import TimeDeltaTrigger as TimeDeltaTrigger

__all__ = [
    "BaseTrigger",
    "DateTimeTrigger",
    "FileTrigger",
    "TaskDeferralError",
    "TaskDeferralTimeout",
    "TaskDeferred",
    "TimeDeltaTrigger",
    "TriggerEvent",
]
