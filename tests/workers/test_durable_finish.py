"""A finish the database failed is retried until it commits or the try is no longer ours."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.executors.base import TaskJob
from engine.models import TaskInstance
from engine.state import TaskInstanceState
from tests.workers.conftest import Sessions, attempts, load_ti, queued
from workers import RunnerContext, run_task
from workers import runner as runner_module
from workers.attempt import AttemptRecord
from workers.claim import Claim
from workers.durablefinish import database_gone, delays, finish_durably
from workers.finish import finish_try

TI = TaskInstanceState
Outcome = tuple[TaskInstanceState | None, list[TaskJob]]


def gone() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))


class Flaky:
    """``finish_try``, with database failures before (``before``) or after (``after``) it."""

    def __init__(
        self, *, before: int = 0, after: int = 0, between: Callable[[], None] | None = None
    ) -> None:
        self.before, self.after, self.between = before, after, between
        self.calls = 0
        self.heartbeats: list[Any] = []

    def __call__(self, claim: Claim, record: AttemptRecord, *, ctx: RunnerContext) -> Outcome:
        self.calls += 1
        with ctx.session_factory() as session:
            self.heartbeats.append(session.get_one(TaskInstance, claim.ti_id).last_heartbeat_at)
        if self.before > 0:
            self.before -= 1
            if self.between is not None and self.before == 0:
                self.between()
            raise gone()
        outcome = finish_try(claim, record, ctx=ctx)
        if self.after > 0:
            self.after -= 1
            raise gone()  # committed, but the acknowledgement was lost with the connection
        return outcome


@pytest.fixture
def sleeps() -> list[float]:
    """The pauses the finish took between its tries."""
    return []


def use(
    monkeypatch: pytest.MonkeyPatch, finish: Flaky, sleeps: list[float], pause: float = 0.0
) -> None:
    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if pause:
            time.sleep(pause)

    durable = functools.partial(finish_durably, finish=finish, sleep=sleep)
    monkeypatch.setattr(runner_module, "finish_durably", durable)


def test_a_finish_is_retried_with_capped_backoff_until_it_commits(
    sessions: Sessions, ctx: RunnerContext, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    flaky = Flaky(before=7)
    use(monkeypatch, flaky, sleeps)
    ti_id, try_number = queued(sessions, "produce")

    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS

    assert flaky.calls == 8
    assert sleeps == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert load_ti(sessions, ti_id).state is TI.SUCCESS
    [attempt] = attempts(sessions, ti_id)
    assert attempt.state == "success"


def test_heartbeats_go_on_while_the_finish_is_retried(
    sessions: Sessions, ctx: RunnerContext, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    flaky = Flaky(before=3)
    use(monkeypatch, flaky, sleeps, pause=0.3)  # heartbeat every 0.05 s
    ti_id, try_number = queued(sessions, "produce")

    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS

    first, *_, last = flaky.heartbeats
    assert first is not None
    assert last > first, "no heartbeat while the finish waited for the database"


def test_a_commit_whose_acknowledgement_was_lost_counts_as_this_finish(
    sessions: Sessions,
    ctx: RunnerContext,
    monkeypatch: pytest.MonkeyPatch,
    sleeps: list[float],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="workers.durablefinish")
    log = tmp_path / "callbacks.log"
    monkeypatch.setenv("LOOM_TEST_CALLBACKS", str(log))
    flaky = Flaky(after=1)
    use(monkeypatch, flaky, sleeps)
    ti_id, try_number = queued(sessions, "skip_with_callbacks")

    assert run_task(ti_id, try_number, ctx=ctx) is TI.SKIPPED

    assert flaky.calls == 2
    assert log.read_text().splitlines() == [
        "skip_with_callbacks execute",
        "skip_with_callbacks skipped",
    ]
    assert "had committed before its connection was lost" in caplog.text
    assert "finish discarded" in caplog.text  # the retry's own compare-and-set was lost
    [attempt] = attempts(sessions, ti_id)
    assert attempt.state == "skipped"


def test_a_try_ended_elsewhere_during_the_outage_is_lost(
    sessions: Sessions, ctx: RunnerContext, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    ti_id, try_number = queued(sessions, "produce")

    def declared_zombie() -> None:
        with sessions.begin() as session:
            session.execute(
                sa.update(TaskInstance)
                .where(TaskInstance.id == ti_id)
                .values(state=TI.UP_FOR_RETRY, end_date=sa.func.now())
            )

    use(monkeypatch, Flaky(before=1, between=declared_zombie), sleeps)

    assert run_task(ti_id, try_number, ctx=ctx) is None

    assert load_ti(sessions, ti_id).state is TI.UP_FOR_RETRY


def test_the_finish_gives_up_after_finish_retry_timeout(
    sessions: Sessions, ctx: RunnerContext, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    ctx = replace(ctx, settings=replace(ctx.settings, finish_retry_timeout=timedelta(0)))
    use(monkeypatch, Flaky(before=100), sleeps)
    ti_id, try_number = queued(sessions, "produce")

    assert run_task(ti_id, try_number, ctx=ctx) is None

    assert load_ti(sessions, ti_id).state is TI.RUNNING, "left to zombie detection"


def test_other_errors_are_not_retried(
    sessions: Sessions, ctx: RunnerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(claim: Claim, record: AttemptRecord, *, ctx: RunnerContext) -> Outcome:
        raise sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(
        runner_module, "finish_durably", functools.partial(finish_durably, finish=broken)
    )
    ti_id, try_number = queued(sessions, "produce")

    with pytest.raises(sa.exc.IntegrityError):
        run_task(ti_id, try_number, ctx=ctx)


def test_what_counts_as_the_database_gone() -> None:
    assert database_gone(gone())
    assert database_gone(sa.exc.InterfaceError("SELECT", {}, Exception("closed")))
    assert not database_gone(sa.exc.IntegrityError("INSERT", {}, Exception("dup")))
    assert not database_gone(ValueError("x"))
    backoff = delays(first=1, cap=3)
    assert [next(backoff) for _ in range(4)] == [1, 2, 3, 3]
