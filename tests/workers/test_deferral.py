"""Deferral on a worker: the try parks on a trigger in one transaction, is resumed in its
method with the event, and an error after resuming follows the retry rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from engine.authoring.xcomvalues import decode, encode
from engine.execution.deferral import resume_deferred
from engine.models import TaskInstance, Trigger
from engine.models.transitions import set_task_state
from engine.scheduling.deferrals import fail_timed_out_deferrals
from tests.workers.conftest import (
    TI,
    Sessions,
    attempts,
    create_run,
    folder_holding,
    load_ti,
    queue_try,
    run_first_try,
    xcoms,
)
from workers import RunnerContext
from workers.runner import run_task

MOMENT = datetime(2026, 2, 1, tzinfo=UTC)


dags_folder = folder_holding("deferring.py")


def _deferred(sessions: Sessions, ctx: RunnerContext, task_id: str) -> int:
    state, ti_id = run_first_try(sessions, ctx, task_id, create_run(sessions, dag_id="deferring"))
    assert state is TI.DEFERRED
    return ti_id


def _fire(sessions: Sessions, ti_id: int) -> int:
    """What a triggerer does when the trigger yields ``MOMENT``; the try to queue."""
    with sessions.begin() as session:
        trigger_id = session.get_one(TaskInstance, ti_id).trigger_id
        assert trigger_id is not None
        assert resume_deferred(
            session=session, trigger_id=trigger_id, payload=encode(MOMENT), now=MOMENT
        )
    with sessions.begin() as session:  # the scheduler's queueing step: one more try
        ti = session.get_one(TaskInstance, ti_id)
        assert ti.state is TI.SCHEDULED
        assert set_task_state(
            session=session, ti_id=ti_id, expected=TI.SCHEDULED, new=TI.QUEUED,
            try_number=ti.try_number, increment_try=True,
        )  # fmt: skip
        return ti.try_number  # synchronised by the compare-and-set


def test_a_deferring_try_parks_on_its_trigger_without_using_a_retry(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id = _deferred(sessions, ctx, "waits")
    ti = load_ti(sessions, ti_id)
    assert ti.try_number == 1
    assert ti.next_method == "execute_complete"
    assert decode(ti.next_kwargs) == {"since": datetime(2026, 1, 1, tzinfo=UTC)}
    assert ti.trigger_timeout is not None
    with sessions() as session:
        trigger = session.get_one(Trigger, ti.trigger_id)
        assert trigger.classpath == "engine.authoring.triggers.temporal.DateTimeTrigger"
        assert decode(trigger.kwargs)["moment"] > datetime.now(UTC)
    [attempt] = attempts(sessions, ti_id)
    assert attempt.state == TI.DEFERRED.value
    assert "about to defer" in (attempt.log or "")


def test_a_fired_trigger_resumes_the_same_try_in_its_method_with_the_event(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id = _deferred(sessions, ctx, "waits")
    assert _fire(sessions, ti_id) == 1  # the same try, as in Airflow
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Trigger)) == 0
    assert run_task(ti_id, 1, ctx=ctx) is TI.SUCCESS
    value = decode(xcoms(sessions, "waits")["return_value"])
    assert value == {"event": MOMENT, "since_is_datetime": True}
    ti = load_ti(sessions, ti_id)
    assert (ti.next_method, ti.next_kwargs, ti.trigger_id) == (None, None, None)
    [attempt] = attempts(sessions, ti_id)
    assert "about to defer" in (attempt.log or "")
    assert "resumed" in (attempt.log or "")


def test_an_error_after_resuming_follows_the_retry_rules_and_the_retry_starts_over(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id = _deferred(sessions, ctx, "unhappy")
    assert run_task(ti_id, _fire(sessions, ti_id), ctx=ctx) is TI.UP_FOR_RETRY
    ti = load_ti(sessions, ti_id)
    assert ti.next_method is None  # the retry runs execute again, as Airflow's
    assert attempts(sessions, ti_id)[0].error_type == "RuntimeError"
    assert run_task(ti_id, queue_try(sessions, ti_id), ctx=ctx) is TI.DEFERRED


def test_a_deferral_past_its_timeout_fails_with_task_deferral_timeout(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id = _deferred(sessions, ctx, "waits")
    limit = load_ti(sessions, ti_id).trigger_timeout
    assert limit is not None
    with sessions.begin() as session:
        assert fail_timed_out_deferrals(session=session, now=limit - timedelta(seconds=1)) == []
    with sessions.begin() as session:
        [failed] = fail_timed_out_deferrals(session=session, now=limit + timedelta(seconds=1))
        assert failed.id == ti_id
    assert load_ti(sessions, ti_id).state is TI.FAILED  # waits has no retries
    assert attempts(sessions, ti_id)[0].error_type == "TaskDeferralTimeout"
    with sessions() as session:  # its trigger went with it
        assert session.scalar(sa.select(sa.func.count()).select_from(Trigger)) == 0
