"""Deferral as DAG files see it: triggers serialize and rebuild, fire, and defer() raises."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import engine
from engine import (
    BaseOperator,
    BaseTrigger,
    DateTimeTrigger,
    FileTrigger,
    TaskDeferralTimeout,
    TaskDeferred,
    TimeDeltaTrigger,
    TriggerEvent,
)
from engine.authoring.triggers.base import TaskDeferralError, build_trigger
from engine.errors import IllegalTransitionError
from engine.eventloop import run_to_completion
from engine.state import ACTIVE, TASK_TRANSITIONS, TaskInstanceState, check_task_transition

TI = TaskInstanceState


def first_event(trigger: BaseTrigger) -> TriggerEvent:
    async def first() -> TriggerEvent:
        async for event in trigger.run():
            return event
        raise AssertionError("the trigger ended without an event")

    return run_to_completion(asyncio.wait_for(first(), timeout=30))


def test_a_datetime_trigger_rebuilds_from_what_it_serializes_and_fires_with_its_moment() -> None:
    moment = datetime.now(UTC) + timedelta(milliseconds=50)
    classpath, kwargs = DateTimeTrigger(moment).serialize()
    rebuilt = build_trigger(classpath, kwargs)
    assert isinstance(rebuilt, DateTimeTrigger)
    assert first_event(rebuilt) == TriggerEvent(moment)


def test_a_timedelta_trigger_fixes_its_moment_when_built() -> None:
    trigger = TimeDeltaTrigger(timedelta(hours=1))
    _, kwargs = trigger.serialize()
    assert kwargs["moment"] > datetime.now(UTC) + timedelta(minutes=59)


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DateTimeTrigger(datetime(2030, 1, 1))


def test_a_file_trigger_fires_once_the_file_exists(tmp_path: Path) -> None:
    target = tmp_path / "ready.flag"
    trigger = build_trigger(*FileTrigger(str(target), poke_interval=0.01).serialize())

    async def create_later() -> TriggerEvent:
        async def create() -> None:
            await asyncio.sleep(0.05)
            target.write_text("x")

        creating = asyncio.create_task(create())
        async for event in trigger.run():
            await creating
            return event
        raise AssertionError("no event")

    assert run_to_completion(asyncio.wait_for(create_later(), timeout=30)) == TriggerEvent(True)


def test_a_classpath_that_is_not_a_trigger_is_refused() -> None:
    with pytest.raises(TypeError, match="not a BaseTrigger"):
        build_trigger("engine.authoring.triggers.base.TriggerEvent", {})


class Waits(BaseOperator):
    def execute(self, context: Any) -> Any:
        self.defer(
            trigger=TimeDeltaTrigger(timedelta(seconds=5)),
            method_name="execute_complete",
            kwargs={"n": 1},
            timeout=timedelta(minutes=1),
        )

    def execute_complete(self, context: Any, event: Any = None, n: int = 0) -> Any:
        return {"event": event, "n": n}


def test_defer_raises_task_deferred_with_its_arguments_and_is_not_an_exception() -> None:
    with pytest.raises(TaskDeferred) as raised:
        Waits(task_id="w").execute({})
    deferred = raised.value
    assert not isinstance(deferred, Exception)  # an `except Exception` in a task misses it
    assert deferred.method_name == "execute_complete"
    assert deferred.kwargs == {"n": 1}
    assert deferred.timeout == timedelta(minutes=1)
    assert isinstance(deferred.trigger, TimeDeltaTrigger)


def test_resume_execution_calls_the_method_with_its_kwargs() -> None:
    task = Waits(task_id="w")
    assert task.resume_execution("execute_complete", {"n": 2, "event": "e"}, {}) == {
        "event": "e",
        "n": 2,
    }
    with pytest.raises(TaskDeferralError, match="nope"):
        task.resume_execution("nope", None, {})


def test_defer_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match="BaseTrigger"):
        BaseOperator(task_id="x").defer(trigger="soon", method_name="m")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timedelta"):
        BaseOperator(task_id="x").defer(
            trigger=TimeDeltaTrigger(timedelta(1)),
            method_name="m",
            timeout=5,  # type: ignore[arg-type]
        )


def test_the_deferral_names_are_exported_from_engine() -> None:
    for name in ("BaseTrigger", "TriggerEvent", "TaskDeferred", "TaskDeferralTimeout",
                 "DateTimeTrigger", "TimeDeltaTrigger", "FileTrigger"):  # fmt: skip
        assert name in engine.__all__
    assert issubclass(TaskDeferralTimeout, TaskDeferralError)


def test_deferred_is_a_waiting_state_that_holds_no_slot() -> None:
    assert TI.DEFERRED not in ACTIVE
    for old, new in [(TI.RUNNING, TI.DEFERRED), (TI.DEFERRED, TI.SCHEDULED),
                     (TI.DEFERRED, TI.FAILED), (TI.DEFERRED, TI.UP_FOR_RETRY),
                     (TI.DEFERRED, TI.NONE), (TI.DEFERRED, TI.SKIPPED),
                     (TI.DEFERRED, TI.SUCCESS), (TI.DEFERRED, TI.REMOVED)]:  # fmt: skip
        check_task_transition(old, new)
    assert TI.DEFERRED not in TASK_TRANSITIONS[TI.QUEUED]
    for new in (TI.RUNNING, TI.QUEUED):  # a fired trigger goes through the scheduler
        with pytest.raises(IllegalTransitionError):
            check_task_transition(TI.DEFERRED, new)
