"""The task runner end to end on real databases: claim, run, log, XCom, finish, retry."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.execution.retries import JITTER
from engine.models import DeadLetter, OutboxKind, OutboxMessage, TaskInstance
from engine.state import TaskInstanceState
from tests.support.executors import RecordingExecutor
from tests.workers.conftest import (
    Sessions,
    attempts,
    load_ti,
    queue_try,
    queued,
    xcoms,
)
from workers import RunnerContext, run_task

TI = TaskInstanceState


def test_success_claims_runs_and_stores_xcom_log_and_attempt(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id, try_number = queued(sessions, "produce")

    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS

    ti = load_ti(sessions, ti_id)
    assert (ti.state, ti.try_number, ti.hostname, ti.pid) == (TI.SUCCESS, 1, "worker-1", 4242)
    assert ti.start_date is not None
    assert ti.end_date is not None
    assert ti.last_heartbeat_at is not None
    assert ti.duration is not None
    assert xcoms(sessions, "produce") == {"return_value": {"n": 1}}
    [attempt] = attempts(sessions, ti_id)
    assert (attempt.try_number, attempt.state, attempt.hostname) == (1, "success", "worker-1")
    assert attempt.log is not None
    assert not attempt.log_truncated
    assert "hello from produce" in attempt.log
    assert "to stderr" in attempt.log
    assert "WARNING user.task: a warning from the task" in attempt.log
    assert attempt.log.rstrip().endswith("Task success")


def test_duplicate_delivery_does_nothing(sessions: Sessions, ctx: RunnerContext) -> None:
    ti_id, try_number = queued(sessions, "produce")
    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS

    assert run_task(ti_id, try_number, ctx=ctx) is None

    assert load_ti(sessions, ti_id).state is TI.SUCCESS
    assert len(attempts(sessions, ti_id)) == 1


def test_stale_try_does_nothing(sessions: Sessions, ctx: RunnerContext) -> None:
    ti_id, _ = queued(sessions, "flaky")
    assert run_task(ti_id, 1, ctx=ctx) is TI.UP_FOR_RETRY
    assert queue_try(sessions, ti_id) == 2

    assert run_task(ti_id, 1, ctx=ctx) is None

    ti = load_ti(sessions, ti_id)
    assert (ti.state, ti.try_number) == (TI.QUEUED, 2)


def test_failure_with_tries_left_is_up_for_retry_with_backoff(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id, _ = queued(sessions, "flaky")  # retries=2, retry_delay=10s, exponential
    assert run_task(ti_id, 1, ctx=ctx) is TI.UP_FOR_RETRY
    first = load_ti(sessions, ti_id)
    queue_try(sessions, ti_id)
    assert run_task(ti_id, 2, ctx=ctx) is TI.UP_FOR_RETRY
    second = load_ti(sessions, ti_id)

    for ti, base in ((first, 10), (second, 20)):  # retry_delay * 2 ** (try - 1)
        assert ti.next_retry_at is not None
        assert ti.end_date is not None
        delay = (ti.next_retry_at - ti.end_date).total_seconds()
        assert base * (1 - JITTER) <= delay <= base * (1 + JITTER)
    [one, two] = attempts(sessions, ti_id)
    assert (one.state, one.error_type, one.error_message) == ("up_for_retry", "ValueError", "boom")
    assert two.traceback is not None
    assert "ValueError: boom" in two.traceback
    assert one.log is not None
    assert "Task failed: ValueError: boom" in one.log
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(DeadLetter)) == 0


def test_last_try_fails_and_records_a_dead_letter(sessions: Sessions, ctx: RunnerContext) -> None:
    ti_id, try_number = queued(sessions, "final")

    assert run_task(ti_id, try_number, ctx=ctx) is TI.FAILED

    ti = load_ti(sessions, ti_id)
    assert (ti.state, ti.next_retry_at) == (TI.FAILED, None)
    with sessions() as session:
        dead = session.scalars(sa.select(DeadLetter)).one()
        assert (dead.task_id, dead.try_number) == ("final", 1)
        assert dead.payload["error"]["type"] == "ValueError"
        assert dead.payload["worker_host"] == "worker-1"
        kinds = session.scalars(sa.select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
        assert kinds == [OutboxKind.DEAD_LETTER, OutboxKind.NOTIFICATION, OutboxKind.NOTIFICATION]


def test_fail_task_fails_at_once_despite_retries(sessions: Sessions, ctx: RunnerContext) -> None:
    ti_id, try_number = queued(sessions, "give_up")  # retries=3

    assert run_task(ti_id, try_number, ctx=ctx) is TI.FAILED
    assert attempts(sessions, ti_id)[0].error_type == "FailTask"


def test_skip_task_ends_skipped(sessions: Sessions, ctx: RunnerContext) -> None:
    ti_id, try_number = queued(sessions, "skip")

    assert run_task(ti_id, try_number, ctx=ctx) is TI.SKIPPED
    assert attempts(sessions, ti_id)[0].state == "skipped"


def test_execute_and_skipped_callbacks_run_around_a_self_skip(
    sessions: Sessions, ctx: RunnerContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "callbacks.log"
    monkeypatch.setenv("LOOM_TEST_CALLBACKS", str(log))
    ti_id, try_number = queued(sessions, "skip_with_callbacks")

    assert run_task(ti_id, try_number, ctx=ctx) is TI.SKIPPED

    assert log.read_text().splitlines() == [
        "skip_with_callbacks execute",
        "skip_with_callbacks skipped",
    ]


@pytest.mark.parametrize(
    ("task_id", "error_type", "message"),
    [
        ("slow", "TaskTimeout", "execution_timeout"),  # sleeps 5s, execution_timeout 0.3s
        ("not_json", "TypeError", "return value of task 'not_json' (as XCom) cannot be stored"),
    ],
    ids=["timeout_is_recorded", "non_json_return_value_fails_clearly"],
)
def test_a_failed_try_records_its_error_and_no_xcom(
    sessions: Sessions, ctx: RunnerContext, task_id: str, error_type: str, message: str
) -> None:
    ti_id, try_number = queued(sessions, task_id)

    assert run_task(ti_id, try_number, ctx=ctx) is TI.FAILED

    [attempt] = attempts(sessions, ti_id)
    assert attempt.error_type == error_type
    assert attempt.error_message is not None
    assert message in attempt.error_message
    assert xcoms(sessions, task_id) == {}


def test_timeout_outside_main_thread_is_recorded_when_the_try_ends(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id, try_number = queued(sessions, "slow")
    ctx.settings = type(ctx.settings)(
        max_log_bytes=ctx.settings.max_log_bytes,
        heartbeat_interval=timedelta(seconds=10),  # no beat may stop within the test
        dags_folder=ctx.settings.dags_folder,
    )
    states: list[TaskInstanceState | None] = []
    thread = threading.Thread(target=lambda: states.append(run_task(ti_id, try_number, ctx=ctx)))

    thread.start()
    thread.join()

    assert states == [TI.FAILED]
    [attempt] = attempts(sessions, ti_id)
    assert attempt.error_type == "TaskTimeout"
    assert attempt.error_message is not None
    assert "was not interrupted" in attempt.error_message


def test_log_cap_keeps_the_tail(sessions: Sessions, ctx: RunnerContext) -> None:
    ti_id, try_number = queued(sessions, "chatty")  # 5000 lines of ~25 bytes

    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS

    [attempt] = attempts(sessions, ti_id)
    assert attempt.log_truncated
    assert attempt.log is not None
    assert len(attempt.log.encode()) <= ctx.settings.max_log_bytes
    assert "line 04999 of chatter" in attempt.log
    assert "line 00000 of chatter" not in attempt.log


@pytest.mark.parametrize(
    ("task_id", "state"),
    [("callback_breaks", TI.SUCCESS), ("callback_breaks_failing", TI.FAILED)],
)
def test_callback_error_does_not_change_the_state(
    sessions: Sessions,
    ctx: RunnerContext,
    task_id: str,
    state: TaskInstanceState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ti_id, try_number = queued(sessions, task_id)

    assert run_task(ti_id, try_number, ctx=ctx) is state

    assert load_ti(sessions, ti_id).state is state
    assert "callback" in caplog.text
    assert "RuntimeError: callback broke" in caplog.text


def test_heartbeat_updates_while_the_task_sleeps(sessions: Sessions, ctx: RunnerContext) -> None:
    ti_id, try_number = queued(sessions, "sleepy")  # sleeps 0.6s; heartbeat every 0.05s

    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS

    ti = load_ti(sessions, ti_id)
    assert ti.start_date is not None
    assert ti.last_heartbeat_at is not None
    assert ti.last_heartbeat_at - ti.start_date >= timedelta(seconds=0.3)


def test_branch_choice_is_stored_and_followed(
    sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    ti_id, try_number = queued(sessions, "branch")

    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS

    assert xcoms(sessions, "branch") == {"return_value": "left", "__branch__": ["left"]}
    # left is an EmptyOperator: the fast-follow finishes it without a job.
    assert executor.submitted == []
    with sessions() as session:
        states = dict(session.execute(sa.select(TaskInstance.task_id, TaskInstance.state)).all())
    assert (states["left"], states["right"]) == (TI.SUCCESS, TI.SKIPPED)


def test_fast_follow_queues_ready_downstream_and_submits_after_commit(
    sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    ti_id, try_number = queued(sessions, "produce")

    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS

    [job] = executor.submitted
    assert (job.task_id, job.try_number, job.priority_class) == ("consume", 1, "default")
    assert load_ti(sessions, job.ti_id).state is TI.QUEUED
    # The downstream try then runs and reads the upstream XCom from the database.
    assert run_task(job.ti_id, job.try_number, ctx=ctx) is TI.SUCCESS
    assert xcoms(sessions, "consume") == {"return_value": 2}
    assert executor.submitted == [job]


def test_no_fast_follow_without_an_executor(sessions: Sessions, ctx: RunnerContext) -> None:
    ctx.executor = None
    ti_id, try_number = queued(sessions, "produce")

    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS

    with sessions() as session:
        consume = session.scalars(
            sa.select(TaskInstance).where(TaskInstance.task_id == "consume")
        ).one()
    assert consume.state is TI.NONE


def test_rendered_fields_are_stored(sessions: Sessions, ctx: RunnerContext) -> None:
    ti_id, try_number = queued(sessions, "templated")

    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS

    [attempt] = attempts(sessions, ti_id)
    assert attempt.rendered["bash_command"] == "echo day 2026-01-05"
    assert attempt.log is not None
    assert "day 2026-01-05" in attempt.log
    assert xcoms(sessions, "templated") == {"return_value": "day 2026-01-05"}
