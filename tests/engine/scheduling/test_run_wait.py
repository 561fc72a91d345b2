"""Why a queued run waits, and when it starts, as its page says, checked against what the
scheduler's start step really does at the same moment."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.errors import ConflictError
from engine.models import Backfill, DagRun
from engine.parser import ParseOptions, refresh_dags
from engine.scheduling.dagruns import start_queued_runs
from engine.services.backfill import BackfillRequest, create_backfill
from engine.services.dags import set_dag_paused
from engine.services.runs import get_run, trigger_dag
from engine.services.runwait import NEXT_TICK, run_wait
from tests.engine.scheduling.conftest import START, Rig, chain_dag

HOUR = timedelta(hours=1)


def wait_of(rig: Rig, dag_id: str, run_id: str, now: datetime = START) -> str | None:
    with rig.sessions() as session:
        run = get_run(session=session, dag_id=dag_id, run_id=run_id)
        found = run_wait(session=session, run=run, now=now)
        return found.reason if found is not None else None


def started(rig: Rig, now: datetime = START) -> list[str]:
    with rig.sessions.begin() as session:
        return [run.run_id for run in start_queued_runs(session=session, now=now)]


def test_a_run_waits_for_max_active_runs_naming_the_running_run(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "one_at_a_time", max_active_runs="1")
    rig.load()
    rig.trigger("one_at_a_time", "first")
    rig.trigger("one_at_a_time", "second", logical_date=START + HOUR)
    assert wait_of(rig, "one_at_a_time", "second") == NEXT_TICK
    assert started(rig) == ["first"]
    assert wait_of(rig, "one_at_a_time", "first") is None  # running, nothing held
    expected = "waits for max_active_runs=1: run first is running"
    assert wait_of(rig, "one_at_a_time", "second") == expected
    assert started(rig) == []  # the scheduler agrees: it does not start


def test_a_run_after_in_the_future_says_when_it_starts(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "later")
    rig.load()
    with rig.sessions.begin() as session:
        trigger_dag(
            session=session, dag_id="later", run_id="noon", now=START,
            run_after=START.replace(hour=12),
        )  # fmt: skip
        trigger_dag(
            session=session, dag_id="later", run_id="tomorrow", now=START,
            logical_date=START + HOUR, run_after=START + timedelta(days=1, hours=6),
        )  # fmt: skip
    with rig.sessions() as session:
        run = get_run(session=session, dag_id="later", run_id="noon")
        wait = run_wait(session=session, run=run, now=START)
        assert wait is not None
        assert wait.reason == "starts at 12:00 UTC (run_after)"
        assert wait.starts_at == START.replace(hour=12)
    assert wait_of(rig, "later", "tomorrow") == "starts at 2026-01-02 06:00 UTC (run_after)"
    assert started(rig) == []
    assert started(rig, START.replace(hour=12)) == ["noon"]


def test_a_run_of_a_paused_dag_starts_when_unpaused(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "pausable")
    rig.load()
    rig.trigger("pausable", "r")
    with rig.sessions.begin() as session:
        set_dag_paused(session=session, dag_id="pausable", is_paused=True)
    assert wait_of(rig, "pausable", "r") == "DAG is paused: starts when unpaused"
    assert started(rig) == []


def test_a_backfill_run_waits_for_the_backfills_limit_or_its_pause(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "daily", schedule="'@daily'", catchup="False")
    rig.load()
    with rig.sessions.begin() as session:
        request = BackfillRequest("daily", START, START + timedelta(days=2), max_active_runs=1)
        report = create_backfill(session=session, request=request, now=START)
        assert report.backfill is not None
        backfill_id = report.backfill.id
    first, *rest = started(rig, START + timedelta(days=3))
    assert rest == []
    with rig.sessions() as session:
        waiting = [
            run.run_id
            for run in session.query(DagRun).filter(DagRun.state == "queued").order_by(DagRun.id)
        ]
    reason = wait_of(rig, "daily", waiting[0], START + timedelta(days=3))
    assert reason == f"waits for backfill {backfill_id}'s max_active_runs=1: run {first} is running"
    with rig.sessions.begin() as session:
        session.get_one(Backfill, backfill_id).is_paused = True
    reason = wait_of(rig, "daily", waiting[0], START + timedelta(days=3))
    assert reason == f"backfill {backfill_id} is paused: starts when it is unpaused"


def test_a_refused_trigger_of_a_broken_dag_names_the_import_error(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "broken")
    rig.load()
    rig.trigger("broken", "before")
    assert started(rig) == ["before"]
    (rig.dags_folder / "broken.py").write_text(
        "from engine import DAG\nimport nowhere_to_be_found\n"
    )
    with rig.sessions.begin() as session:
        refresh_dags(
            session=session,
            options=ParseOptions(rig.dags_folder, timeout=30, parallelism=1),
            now=START + HOUR,
        )
    reason = wait_of(rig, "broken", "before")
    assert reason is not None
    assert reason.startswith("tasks wait: DAG file does not import: ")
    assert "nowhere_to_be_found" in reason
    with rig.sessions.begin() as session, pytest.raises(ConflictError, match="does not import"):
        trigger_dag(session=session, dag_id="broken", now=START, refuse_broken=True)
    with rig.sessions.begin() as session:  # forced, or not asked to refuse: created
        trigger_dag(session=session, dag_id="broken", run_id="forced", now=START)
