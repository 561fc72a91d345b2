"""A deferral run in this process, for ``loom dags test`` (as Airflow's ``dags test``):
the trigger runs in a private asyncio loop until its first event, then the task resumes
in the method it named, with the event."""

from __future__ import annotations

import asyncio

from engine.authoring.triggers.base import (
    BaseTrigger,
    TaskDeferralError,
    TaskDeferralTimeout,
    TriggerEvent,
    build_trigger,
)
from engine.authoring.xcomvalues import decode
from engine.eventloop import run_to_completion
from engine.execution.attempt import Deferral, Resume


def run_deferral(deferral: Deferral) -> Resume:
    """Run ``deferral``'s trigger here until its first event (no longer than its
    ``timeout``: :class:`TaskDeferralTimeout`); where the task resumes, with the event.
    A trigger that fails raises :class:`TaskDeferralError`."""
    trigger = build_trigger(deferral.classpath, decode(deferral.trigger_kwargs))
    limit = None if deferral.timeout is None else deferral.timeout.total_seconds()
    try:
        event = run_to_completion(asyncio.wait_for(_first_event(trigger), limit))
    except TimeoutError:
        raise TaskDeferralTimeout(f"Trigger/execution timeout after {deferral.timeout}") from None
    kwargs = {**decode(deferral.method_kwargs or {}), "event": event.payload}
    return Resume(deferral.method_name, kwargs)


async def _first_event(trigger: BaseTrigger) -> TriggerEvent:
    try:
        async for event in trigger.run():
            return event
    except Exception as exc:
        raise TaskDeferralError(f"trigger failed: {type(exc).__name__}: {exc}") from exc
    finally:
        await trigger.cleanup()
    raise TaskDeferralError("the trigger ended without an event")
