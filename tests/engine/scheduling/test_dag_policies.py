"""Issue 16's run policies on the real scheduler tick (SQLite and PostgreSQL): fail_fast,
max_consecutive_failed_dag_runs (and its configured default), and the outbox request
for DAG callbacks written with the run's end."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.executors.base import TaskJob
from engine.models import AuditLog, Dag, DagRun, OutboxKind, OutboxMessage
from engine.scheduling.runend import AUTO_PAUSE_ACTION
from engine.scheduling.scheduler import Scheduler
from engine.services.taskchanges import clear_task_instances
from engine.state import DagRunState
from tests.engine.scheduling.conftest import START, TI, Rig
from tests.support.executors import RecordingExecutor
from tests.support.settings import make_settings

SECOND = timedelta(seconds=1)


def _job(rig: Rig, task_id: str) -> TaskJob:
    return next(job for job in reversed(rig.executor.submitted) if job.task_id == task_id)


def _run_state(rig: Rig, dag_id: str, run_id: str = "r") -> DagRunState:
    [run] = [run for run in rig.runs(dag_id) if run.run_id == run_id]
    return run.state


# -- fail_fast ------------------------------------------------------------------------------


def test_a_failed_task_fails_running_tasks_and_skips_the_rest_but_teardowns(rig: Rig) -> None:
    rig.manual_dag(
        "ff",
        """
        first = EmptyOperator(task_id='first')
        slow = EmptyOperator(task_id='slow')
        retrying = EmptyOperator(task_id='retrying', retries=2)
        first >> EmptyOperator(task_id='after')
        first >> EmptyOperator(task_id='waiting')
        slow >> EmptyOperator(task_id='cleanup').as_teardown()
        """,
        args="fail_fast=True",
    )
    scheduler = rig.first_tick("ff")
    assert sorted(rig.executor.task_ids) == ["first", "retrying", "slow"]
    rig.work(_job(rig, "slow"), TI.RUNNING, START)  # still running
    rig.work(_job(rig, "retrying"), TI.UP_FOR_RETRY, START)  # will be tried again
    rig.work(_job(rig, "first"), TI.FAILED, START + SECOND)

    scheduler.tick(START + 2 * SECOND)

    states = rig.states("ff")
    assert states["first"] is TI.FAILED
    assert states["slow"] is TI.FAILED  # was running: failed, as if marked by hand
    assert states["retrying"] is TI.SKIPPED  # its retry never comes
    assert (states["after"], states["waiting"]) == (TI.SKIPPED, TI.SKIPPED)
    assert states["cleanup"] is TI.QUEUED  # a teardown still cleans up
    rig.work(_job(rig, "cleanup"), TI.SUCCESS, START + 3 * SECOND)
    scheduler.tick(START + 4 * SECOND)
    # Its leaves were skipped, but a fail-fast run whose task failed has failed.
    assert _run_state(rig, "ff") is DagRunState.FAILED


def test_without_fail_fast_the_other_branches_run_on(rig: Rig) -> None:
    rig.manual_dag(
        "slowpoke",
        """
            first = EmptyOperator(task_id='first')
            slow = EmptyOperator(task_id='slow')
            first >> EmptyOperator(task_id='after')
        """,
    )
    scheduler = rig.first_tick("slowpoke")
    rig.work(_job(rig, "slow"), TI.RUNNING, START)
    rig.work(_job(rig, "first"), TI.FAILED, START + SECOND)
    scheduler.tick(START + 2 * SECOND)
    states = rig.states("slowpoke")
    assert (states["slow"], states["after"]) == (TI.RUNNING, TI.UPSTREAM_FAILED)


def test_a_failure_from_before_the_run_was_cleared_stops_nothing(rig: Rig) -> None:
    rig.manual_dag(
        "cleared",
        """
        EmptyOperator(task_id='broken')
        EmptyOperator(task_id='other')
        """,
        args="fail_fast=True",
    )
    scheduler = rig.first_tick("cleared")
    rig.work(_job(rig, "broken"), TI.FAILED, START)
    rig.work(_job(rig, "other"), TI.SUCCESS, START)
    scheduler.tick(START + SECOND)
    assert _run_state(rig, "cleared") is DagRunState.FAILED
    # Clear only 'other': the run starts again; 'broken' failed before that start.
    with rig.sessions.begin() as session:
        clear_task_instances(
            session=session, dag_id="cleared", run_id="r", task_ids=["other"],
            now=START + 2 * SECOND,
        )  # fmt: skip
    scheduler.tick(START + 3 * SECOND)
    assert rig.states("cleared")["other"] is TI.QUEUED


# -- max_consecutive_failed_dag_runs --------------------------------------------------------


def _runs_ending(rig: Rig, scheduler: Scheduler, dag_id: str, *outcomes: TI) -> None:
    """Runs of ``dag_id`` (its one task ``t``) whose task ends as each of ``outcomes``."""
    for number, outcome in enumerate(outcomes):
        moment = START + timedelta(minutes=number)
        rig.trigger(dag_id, f"r{number}", logical_date=moment)
        scheduler.tick(moment)
        rig.work(_job(rig, "t"), outcome, moment)
        scheduler.tick(moment + SECOND)


def _paused(sessions: sessionmaker[Session], dag_id: str) -> bool:
    with sessions() as session:
        return session.get_one(Dag, dag_id).is_paused


def test_a_dag_is_paused_after_its_limit_of_failed_runs_with_an_audit_entry(rig: Rig) -> None:
    rig.manual_dag("flaky", "EmptyOperator(task_id='t')", args="max_consecutive_failed_dag_runs=2")
    rig.load()
    scheduler = rig.scheduler()
    _runs_ending(rig, scheduler, "flaky", TI.SUCCESS, TI.FAILED)
    assert not _paused(rig.sessions, "flaky")
    rig.trigger("flaky", "r9", logical_date=START + timedelta(hours=1))
    scheduler.tick(START + timedelta(hours=1))
    rig.work(_job(rig, "t"), TI.FAILED, START + timedelta(hours=1))
    scheduler.tick(START + timedelta(hours=1, seconds=1))
    assert _paused(rig.sessions, "flaky")
    with rig.sessions() as session:
        [entry] = session.scalars(
            sa.select(AuditLog).where(AuditLog.action == AUTO_PAUSE_ACTION)
        ).all()
    assert (entry.username, entry.target) == ("scheduler", "/dags/flaky")
    assert "last 2 runs failed" in entry.details["reason"]


def test_a_success_in_between_resets_the_count(rig: Rig) -> None:
    rig.manual_dag("mixed", "EmptyOperator(task_id='t')", args="max_consecutive_failed_dag_runs=2")
    rig.load()
    _runs_ending(rig, rig.scheduler(), "mixed", TI.FAILED, TI.SUCCESS, TI.FAILED)
    assert not _paused(rig.sessions, "mixed")


def test_the_configured_default_applies_and_the_dag_s_zero_turns_it_off(
    rig: Rig, db_url: str, tmp_path: Path, executor: RecordingExecutor
) -> None:
    rig.manual_dag("default_limit", "EmptyOperator(task_id='t')")
    rig.manual_dag("never", "EmptyOperator(task_id='t')", args="max_consecutive_failed_dag_runs=0")
    rig.load()
    settings = make_settings(
        db_url, tmp_path / "home", dags_folder=rig.dags_folder,
        core={"max_consecutive_failed_dag_runs_per_dag": 1},
    )  # fmt: skip
    scheduler = Scheduler(
        session_factory=rig.sessions, executor=executor, settings=settings, parse_dags=False
    )
    _runs_ending(rig, scheduler, "default_limit", TI.FAILED)
    _runs_ending(rig, scheduler, "never", TI.FAILED)
    assert _paused(rig.sessions, "default_limit")
    assert not _paused(rig.sessions, "never")
    # Without the setting (the default, 0) nothing is ever paused.
    rig.manual_dag("unlimited", "EmptyOperator(task_id='t')")
    rig.load()
    _runs_ending(rig, rig.scheduler(), "unlimited", TI.FAILED, TI.FAILED, TI.FAILED)
    assert not _paused(rig.sessions, "unlimited")


# -- DAG callbacks: the request written with the run's end ----------------------------------


def _callback_rows(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    with sessions() as session:
        rows = session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.kind == OutboxKind.DAG_CALLBACK)
            .order_by(OutboxMessage.id)
        )
        return [dict(row.payload) for row in rows]


def test_a_finished_run_asks_for_its_dag_callbacks_in_the_outbox(rig: Rig) -> None:
    note = "def note(context):\n    pass\n"
    rig.manual_dag(
        "called", "EmptyOperator(task_id='t')", args="on_failure_callback=note", prelude=note
    )
    rig.manual_dag("quiet", "EmptyOperator(task_id='t')")
    rig.load()
    scheduler = rig.scheduler()
    for dag_id in ("called", "quiet"):
        _runs_ending(rig, scheduler, dag_id, TI.SUCCESS, TI.FAILED)
    # Only the failure of the DAG that has an on_failure_callback asks for anything.
    [request] = _callback_rows(rig.sessions)
    with rig.sessions() as session:
        run = session.scalars(
            sa.select(DagRun).where(DagRun.dag_id == "called", DagRun.run_id == "r1")
        ).one()
    assert request == {
        "dag_run_id": run.id,
        "dag_id": "called",
        "run_id": "r1",
        "state": "failed",
        "reason": "task_failure",
    }


def test_a_timed_out_run_asks_for_its_failure_callbacks_with_reason_timed_out(
    rig: Rig,
) -> None:
    rig.manual_dag(
        "late",
        "EmptyOperator(task_id='t')",
        args="on_failure_callback=note, dagrun_timeout=timedelta(seconds=5)",
        prelude="def note(context):\n    pass\n",
    )
    scheduler = rig.first_tick("late")
    rig.work(_job(rig, "t"), TI.RUNNING, START)
    scheduler.tick(START + timedelta(seconds=10))
    assert _run_state(rig, "late") is DagRunState.FAILED
    [request] = _callback_rows(rig.sessions)
    assert (request["state"], request["reason"]) == ("failed", "timed_out")
