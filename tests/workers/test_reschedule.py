"""Sensors in reschedule mode on a worker: each poke that finds nothing ends the run of
the try ``up_for_reschedule`` (no retry, no alert, no dead letter), the next poke
continues the same try and its log, and the timeout counts from the first poke."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.execution.remotelogs import RemoteLogs, S3LogStore
from engine.models import DeadLetter, OutboxMessage, TaskInstance
from engine.scheduling import Limits, promote_reschedules, queue_ready, waiting_instances
from engine.services.taskchanges import clear_task_instance
from tests.support.aws import LOG_BUCKET
from tests.workers.conftest import (
    TI,
    Sessions,
    attempts,
    create_run,
    folder_holding,
    load_ti,
    run_first_try,
)
from workers import RunnerContext
from workers.runner import run_task

dags_folder = folder_holding("sensors.py")


def _first_poke(sessions: Sessions, ctx: RunnerContext, task_id: str) -> tuple[TI | None, int]:
    return run_first_try(sessions, ctx, task_id, create_run(sessions, dag_id="sensors"))


def _next_poke(sessions: Sessions, ctx: RunnerContext, ti_id: int) -> TI | None:
    """What the scheduler does when the poke is due, then the worker's run of its job."""
    due = load_ti(sessions, ti_id).next_poke_at
    assert due is not None
    with sessions.begin() as session:
        assert [ti.id for ti in promote_reschedules(session=session, now=due)] == [ti_id]
        waiting = waiting_instances(session=session)
        [job] = queue_ready(session=session, waiting=waiting, limits=Limits(8), now=due)
    return run_task(job.ti_id, job.try_number, ctx=ctx)


def _count(sessions: Sessions, model: type[DeadLetter] | type[OutboxMessage]) -> int:
    with sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


@pytest.mark.usefixtures("pokes")
def test_pokes_reschedule_in_one_try_until_done(
    sessions: Sessions,
    ctx: RunnerContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # as a worker process logs (logging.level's default)
    state, ti_id = _first_poke(sessions, ctx, "third_r")
    assert state is TI.UP_FOR_RESCHEDULE
    ti = load_ti(sessions, ti_id)
    assert (ti.try_number, ti.poke_count, ti.first_poke_at) == (1, 1, ti.start_date)
    assert ti.next_poke_at is not None
    assert ti.start_date is not None
    assert ti.next_poke_at - ti.start_date >= timedelta(seconds=30)  # poke_interval
    assert _count(sessions, OutboxMessage) == 0  # no task.retrying alert, no dead letter
    first_poke = ti.first_poke_at

    assert _next_poke(sessions, ctx, ti_id) is TI.UP_FOR_RESCHEDULE
    ti = load_ti(sessions, ti_id)
    assert (ti.try_number, ti.poke_count, ti.first_poke_at) == (1, 2, first_poke)

    assert _next_poke(sessions, ctx, ti_id) is TI.SUCCESS
    ti = load_ti(sessions, ti_id)
    assert (ti.state, ti.try_number, ti.max_tries) == (TI.SUCCESS, 1, 3)  # no retry used
    [attempt] = attempts(sessions, ti_id)
    assert attempt.state == TI.SUCCESS.value
    log = attempt.log or ""
    assert [f"poke {n} of sensor third_r" in log for n in (1, 2, 3)] == [True] * 3
    assert log.count("Task rescheduled: next poke at") == 2


@pytest.mark.usefixtures("pokes")
def test_a_sensor_s_uploaded_log_holds_every_poke(
    sessions: Sessions,
    ctx: RunnerContext,
    s3: S3LogStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # as a worker process logs (logging.level's default)
    spools = tmp_path / "tmp"
    spools.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spools))
    remote = RemoteLogs(f"s3://{LOG_BUCKET}/prod", 100, s3)
    ctx = dataclasses.replace(ctx, remote_logs=remote)

    state, ti_id = _first_poke(sessions, ctx, "third_r")
    assert state is TI.UP_FOR_RESCHEDULE
    assert list(spools.iterdir()) == []  # a rescheduled poke uploads nothing, spools no more
    assert _next_poke(sessions, ctx, ti_id) is TI.UP_FOR_RESCHEDULE
    assert _next_poke(sessions, ctx, ti_id) is TI.SUCCESS

    [attempt] = attempts(sessions, ti_id)
    assert attempt.log_remote_url is not None
    assert attempt.log_remote_start == 0
    uploaded = s3.get(attempt.log_remote_url)
    assert [f"poke {n} of sensor third_r" in uploaded for n in (1, 2, 3)] == [True] * 3
    assert uploaded.endswith(attempt.log or "")
    assert len(uploaded) == attempt.log_start + len(attempt.log or "")
    assert list(spools.iterdir()) == []


def test_the_timeout_counts_from_the_first_poke_and_fails_without_a_retry(
    sessions: Sessions, ctx: RunnerContext, capsys: pytest.CaptureFixture[str]
) -> None:
    state, ti_id = _first_poke(sessions, ctx, "never_r")
    assert state is TI.UP_FOR_RESCHEDULE
    with sessions.begin() as session:  # the first poke was long ago (timeout=600)
        ti = session.get_one(TaskInstance, ti_id)
        assert ti.first_poke_at is not None
        ti.first_poke_at -= timedelta(hours=1)

    assert _next_poke(sessions, ctx, ti_id) is TI.FAILED
    ti = load_ti(sessions, ti_id)
    assert (ti.try_number, ti.max_tries) == (1, 4)  # retries=3, none used
    [attempt] = attempts(sessions, ti_id)
    assert attempt.error_type == "SensorTimeout"
    assert _count(sessions, DeadLetter) == 1  # the final failure, not the reschedule
    assert "retry callback" not in capsys.readouterr().out


@pytest.mark.usefixtures("pokes")
def test_clearing_a_waiting_sensor_resets_its_pokes(sessions: Sessions, ctx: RunnerContext) -> None:
    state, ti_id = _first_poke(sessions, ctx, "third_r")
    assert state is TI.UP_FOR_RESCHEDULE
    with sessions.begin() as session:
        cleared = clear_task_instance(
            session=session, dag_id="sensors", run_id="manual__1", task_id="third_r",
            downstream=False, now=datetime.now(UTC),
        )  # fmt: skip
        assert [ti.id for ti in cleared] == [ti_id]
    ti = load_ti(sessions, ti_id)
    assert (ti.state, ti.next_poke_at, ti.first_poke_at, ti.poke_count) == (TI.NONE, None, None, 0)
