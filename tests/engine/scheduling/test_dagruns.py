"""Creating and starting dag runs: schedules, catchup, pause, max_active_runs, triggers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import Dag
from engine.scheduling.dagruns import start_queued_runs
from engine.services.dags import set_dag_paused
from engine.services.runs import trigger_dag
from engine.state import DagRunState
from tests.engine.scheduling.conftest import START, Rig, chain_dag, write_dag

DAY = timedelta(days=1)


def test_catchup_creates_every_missed_interval_in_order(rig: Rig) -> None:
    chain_dag(
        rig.dags_folder, "daily", schedule="CronDataIntervalTimetable('@daily')", catchup="True",
        max_active_runs="16",
    )  # fmt: skip
    rig.load()
    now = START + 3 * DAY + timedelta(hours=1)
    report = rig.scheduler().tick(now)
    created = rig.runs("daily")
    assert report.runs_created == 3
    assert [r.run_id for r in created] == [
        f"scheduled__{(START + n * DAY).isoformat()}" for n in range(3)
    ]
    assert [(r.data_interval_start, r.data_interval_end) for r in created] == [
        (START + n * DAY, START + (n + 1) * DAY) for n in range(3)
    ]
    assert rig.scheduler().tick(now).runs_created == 0  # nothing new is due
    with rig.sessions() as session:
        assert session.get(Dag, "daily").next_dagrun_create_after == START + 4 * DAY


def test_without_catchup_only_the_latest_interval_runs(rig: Rig) -> None:
    chain_dag(
        rig.dags_folder, "daily", schedule="CronDataIntervalTimetable('@daily')", catchup="False"
    )
    rig.load()
    rig.scheduler().tick(START + 10 * DAY + timedelta(hours=5))
    assert [r.logical_date for r in rig.runs("daily")] == [START + 9 * DAY]


def test_timedelta_schedule_respects_end_date(rig: Rig) -> None:
    chain_dag(
        rig.dags_folder, "every6h", schedule="timedelta(hours=6)", catchup="True",
        end_date="datetime(2026, 1, 1, 12)",
    )  # fmt: skip
    rig.load()
    rig.scheduler().tick(START + 5 * DAY)
    starts = [r.logical_date for r in rig.runs("every6h")]
    assert starts == [START, START + timedelta(hours=6), START + timedelta(hours=12)]


def test_paused_or_manual_dags_get_no_scheduled_runs(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "paused", schedule="'@daily'", is_paused_upon_creation="True")
    chain_dag(rig.dags_folder, "manual")
    rig.load()
    rig.scheduler().tick(START + 3 * DAY)
    assert rig.runs("paused") == []
    assert rig.runs("manual") == []
    with rig.sessions.begin() as session:
        set_dag_paused(session=session, dag_id="paused", is_paused=False)
    rig.scheduler().tick(START + 3 * DAY)
    assert len(rig.runs("paused")) == 1


def test_a_schedule_added_later_is_picked_up(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "evolving")
    rig.load()
    rig.scheduler().tick(START + 3 * DAY)
    assert rig.runs("evolving") == []
    chain_dag(rig.dags_folder, "evolving", schedule="'@daily'")
    rig.load()
    rig.scheduler().tick(START + 3 * DAY)
    assert len(rig.runs("evolving")) == 1


def test_max_active_runs_limits_creation_and_start(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "daily", schedule="'@daily'", catchup="True", max_active_runs="2")
    rig.load()
    now = START + 5 * DAY
    rig.scheduler().tick(now)
    created = rig.runs("daily")
    assert len(created) == 2
    assert {r.state for r in created} == {DagRunState.RUNNING}
    with rig.sessions.begin() as session:  # a manual run waits for a free slot
        trigger_dag(session=session, dag_id="daily", now=now)
    rig.scheduler().tick(now)
    assert [r.state for r in rig.runs("daily")].count(DagRunState.QUEUED) == 1


def test_delayed_trigger_starts_when_due(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "manual")
    rig.load()
    with rig.sessions.begin() as session:
        run = trigger_dag(
            session=session, dag_id="manual", conf={"x": 1}, run_after=START + DAY, now=START
        )
        assert run.run_id == f"manual__{START.isoformat()}"
    rig.scheduler().tick(START + DAY / 2)
    assert rig.runs("manual")[0].state is DagRunState.QUEUED
    rig.scheduler().tick(START + DAY)
    assert rig.runs("manual")[0].state is DagRunState.RUNNING


def test_trigger_refuses_bad_input_and_changes_nothing(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "manual")
    write_dag(
        rig.dags_folder,
        "typed",
        """
        from engine import Param
        with DAG('typed', schedule=None, start_date=datetime(2026, 1, 1),
                 params={'n': Param(1, type='integer')}) as dag:
            EmptyOperator(task_id='a')
        """,
    )
    chain_dag(rig.dags_folder, "paused", is_paused_upon_creation="True")
    rig.load()
    rig.trigger("manual", "r1")
    cases: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"dag_id": "nope"}, NotFoundError),
        ({"dag_id": "typed", "conf": {"n": "x"}}, InvalidInputError),
        ({"dag_id": "manual", "run_id": "r1"}, ConflictError),
    ]
    for kwargs, error in cases:
        with rig.sessions.begin() as session, pytest.raises(error):
            trigger_dag(session=session, now=START, **kwargs)
    assert [r.run_id for r in rig.runs("manual")] == ["r1"]
    assert rig.runs("typed") == []


def test_a_paused_dags_run_is_created_and_waits_until_unpaused(rig: Rig) -> None:
    """Airflow's behaviour: triggering a paused DAG creates its run, which stays queued
    until the DAG is unpaused."""
    chain_dag(rig.dags_folder, "paused", is_paused_upon_creation="True")
    rig.load()
    rig.trigger("paused", "r1")
    with rig.sessions.begin() as session:
        assert start_queued_runs(session=session, now=START + timedelta(minutes=1)) == []
    with rig.sessions.begin() as session:
        set_dag_paused(session=session, dag_id="paused", is_paused=False)
    with rig.sessions.begin() as session:
        started = start_queued_runs(session=session, now=START + timedelta(minutes=1))
        assert [run.run_id for run in started] == ["r1"]
    assert [r.state for r in rig.runs("paused")] == [DagRunState.RUNNING]


def test_taken_run_id_keeps_the_transaction_usable(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "manual")
    rig.load()
    with rig.sessions.begin() as session:
        trigger_dag(session=session, dag_id="manual", run_id="r1", now=START)
        with pytest.raises(ConflictError):
            trigger_dag(session=session, dag_id="manual", run_id="r1", now=START)
        trigger_dag(session=session, dag_id="manual", run_id="r2", now=START)
    assert [r.run_id for r in rig.runs("manual")] == ["r1", "r2"]
