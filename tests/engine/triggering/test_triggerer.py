"""The triggerer in this process: claims, takeovers, fired and failed triggers, and the
watchdog that names a trigger blocking the loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from engine.authoring.xcomvalues import decode
from engine.config.schema import TriggererSettings
from engine.eventloop import run_to_completion
from engine.metrics import instruments
from engine.models import TaskAttempt, TaskInstance, Trigger
from engine.triggering.claims import TriggerSpec, claim_triggers, record_triggerer_heartbeat
from engine.triggering.runner import LoopWatchdog, TriggerRunner
from engine.triggering.triggerer import Triggerer
from tests.workers.conftest import TI, Sessions, create_run, folder_holding, queue_try, ti_id_of
from workers import RunnerContext
from workers.runner import run_task

T0 = datetime(2026, 3, 1, tzinfo=UTC)
SETTINGS = TriggererSettings(capacity=10, heartbeat_threshold=timedelta(seconds=30))


dags_folder = folder_holding("deferring.py")


def _deferred(sessions: Sessions, ctx: RunnerContext, task_id: str, run_id: str) -> int:
    ti_id = ti_id_of(sessions, task_id, create_run(sessions, dag_id="deferring", run_id=run_id))
    assert run_task(ti_id, queue_try(sessions, ti_id), ctx=ctx) is TI.DEFERRED
    return ti_id


def _set_trigger(sessions: Sessions, ti_id: int, classpath: str, kwargs: dict[str, object]) -> None:
    with sessions.begin() as session:
        ti = session.get_one(TaskInstance, ti_id)
        session.execute(
            sa.update(Trigger)
            .where(Trigger.id == ti.trigger_id)
            .values(classpath=classpath, kwargs=kwargs)
        )


def _polls_until_done(triggerer: Triggerer, runner: TriggerRunner) -> None:
    """Poll (claim and start), let the triggers run to their outcome, poll (record)."""

    async def go() -> None:
        await triggerer.poll(runner)
        assert runner.tasks, "the triggerer claimed nothing"
        await asyncio.gather(*runner.tasks.values(), return_exceptions=True)
        await triggerer.poll(runner)

    run_to_completion(asyncio.wait_for(go(), timeout=60))


def test_a_fired_trigger_sends_its_task_back_to_be_scheduled_with_the_event(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id = _deferred(sessions, ctx, "waits", "r1")
    moment = datetime.now(UTC) - timedelta(seconds=1)  # due at once
    _set_trigger(sessions, ti_id, "engine.authoring.triggers.temporal.DateTimeTrigger",
                 {"moment": {"__type__": "datetime", "__value__": moment.isoformat()}})  # fmt: skip
    triggerer = Triggerer(session_factory=sessions, settings=SETTINGS, triggerer_id="t:1")
    _polls_until_done(triggerer, TriggerRunner())
    with sessions() as session:
        ti = session.get_one(TaskInstance, ti_id)
        assert ti.state is TI.SCHEDULED
        assert ti.try_number == 0  # queueing adds one: the same try resumes
        assert decode(ti.next_kwargs)["event"] == moment
        assert session.scalar(sa.select(sa.func.count()).select_from(Trigger)) == 0


def test_a_trigger_that_raises_fails_its_task_by_the_retry_rules(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    waits = _deferred(sessions, ctx, "waits", "r1")  # no retries
    unhappy = _deferred(sessions, ctx, "unhappy", "r2")  # retries=1
    for ti_id in (waits, unhappy):
        _set_trigger(sessions, ti_id, "tests.engine.triggering.triggers.Exploding", {})
    triggerer = Triggerer(session_factory=sessions, settings=SETTINGS, triggerer_id="t:1")
    _polls_until_done(triggerer, TriggerRunner())
    with sessions() as session:
        assert session.get_one(TaskInstance, waits).state is TI.FAILED
        assert session.get_one(TaskInstance, unhappy).state is TI.UP_FOR_RETRY
        attempt = session.scalars(
            sa.select(TaskAttempt).where(TaskAttempt.task_instance_id == waits)
        ).one()
        assert attempt.error_type == "TaskDeferralError"
        assert "OSError: the sensor's endpoint is down" in (attempt.error_message or "")
        assert "Traceback" in (attempt.traceback or "")


def test_a_trigger_that_cannot_be_imported_fails_its_task(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id = _deferred(sessions, ctx, "waits", "r1")
    _set_trigger(sessions, ti_id, "no_such_module.Trigger", {})
    triggerer = Triggerer(session_factory=sessions, settings=SETTINGS, triggerer_id="t:1")
    _polls_until_done(triggerer, TriggerRunner())
    with sessions() as session:
        assert session.get_one(TaskInstance, ti_id).state is TI.FAILED


def _add_triggers(sessions: Sessions, count: int) -> list[int]:
    with sessions.begin() as session:
        rows = [Trigger(classpath="x.Y", kwargs={}, created_at=T0) for _ in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def _claim(sessions: Sessions, who: str, now: datetime, capacity: int = 10) -> list[int]:
    with sessions.begin() as session:
        record_triggerer_heartbeat(
            session=session, triggerer_id=who, now=now, capacity=capacity, running=0
        )
        return claim_triggers(
            session=session, triggerer_id=who, now=now, capacity=capacity,
            threshold=timedelta(seconds=30),
        )  # fmt: skip


def test_claims_respect_capacity_and_take_over_a_silent_triggerer_s_triggers(
    sessions: Sessions,
) -> None:
    ids = _add_triggers(sessions, 3)
    assert _claim(sessions, "a:1", T0, capacity=2) == ids[:2]
    assert _claim(sessions, "a:1", T0, capacity=2) == []  # full
    assert _claim(sessions, "b:2", T0) == ids[2:]
    assert _claim(sessions, "b:2", T0 + timedelta(seconds=20)) == []  # a:1 is alive
    later = T0 + timedelta(seconds=31)  # a:1 has not heartbeaten for 31 s
    assert sorted(_claim(sessions, "b:2", later)) == ids[:2]
    with sessions() as session:
        owners = set(session.scalars(sa.select(Trigger.triggerer_id)))
    assert owners == {"b:2"}


def blocked_total() -> float:
    instruments.get()  # built on first use
    return REGISTRY.get_sample_value("loom_triggers_blocked_total") or 0.0


def watched(body: Callable[[], Awaitable[None]]) -> LoopWatchdog:
    """Run ``body`` on an event loop a :class:`LoopWatchdog` watches; that watchdog."""

    async def go() -> LoopWatchdog:
        watchdog = LoopWatchdog(asyncio.get_running_loop())
        ticker = asyncio.create_task(watchdog.tick())
        watchdog.start()
        await body()
        watchdog.stop()
        ticker.cancel()
        return watchdog

    return run_to_completion(asyncio.wait_for(go(), timeout=30))


def test_the_watchdog_names_a_trigger_that_blocks_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = TriggerRunner()
    before = blocked_total()

    async def blocking_trigger() -> None:
        runner.update({41: TriggerSpec("tests.engine.triggering.triggers.Blocking", {})})
        await asyncio.gather(*runner.tasks.values())

    with caplog.at_level(logging.WARNING, logger="engine.triggering.runner"):
        watchdog = watched(blocking_trigger)
    assert watchdog.blocked == 1
    assert blocked_total() == before + 1
    assert "trigger 41 blocked the triggerer's event loop" in caplog.text
    assert [outcome.payload for outcome in runner.outcomes] == ["late"]


def test_the_watchdog_blames_no_trigger_when_the_loop_stalls_outside_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stall in no trigger's task (a starved process, Loom's own coroutine) is no
    trigger author's doing: not counted, not a warning."""
    before = blocked_total()

    async def stall() -> None:
        await asyncio.sleep(0.1)
        time.sleep(1)  # the loop held by this coroutine, which is no trigger
        await asyncio.sleep(0.1)

    with caplog.at_level(logging.DEBUG, logger="engine.triggering.runner"):
        watchdog = watched(stall)
    assert watchdog.blocked == 0
    assert blocked_total() == before
    assert "outside any trigger" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
