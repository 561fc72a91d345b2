"""The tick's asset step on SQLite and PostgreSQL: a DAG scheduled on assets gets a run
once queued events satisfy its condition, consumes them (one run for many events), and
records which events triggered it; ``AssetOrTimeSchedule`` DAGs run on both."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.authoring.assets import Asset
from engine.models import AssetDagRunQueue, DagRun, DagRunType
from engine.scheduling.assets import create_asset_triggered_runs
from engine.services.assets import (
    EventSource,
    OutletEvents,
    asset_ids_of,
    record_event,
    record_outlet_events,
    triggering_events,
)
from tests.engine.scheduling.conftest import START, Rig, write_dag

Sessions = sessionmaker[Session]
MIN = timedelta(minutes=1)

CONSUMERS = """
from engine import Asset, AssetAlias, AssetOrTimeSchedule, CronTriggerTimetable
A, B, C = Asset("a"), Asset("b"), Asset("c")

with DAG("on_a", schedule=[A]):
    EmptyOperator(task_id="t")

with DAG("on_a_and_b_or_c", schedule=A & (B | C)):
    EmptyOperator(task_id="t")

with DAG("on_alias", schedule=AssetAlias("dyn")):
    EmptyOperator(task_id="t")

with DAG(
    "a_or_daily",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"), assets=[A]
    ),
    start_date=datetime(2026, 1, 1), catchup=False,
):
    EmptyOperator(task_id="t")
"""


def emit(sessions: Sessions, name: str, at: object = START, **extra: object) -> int:
    """An event of asset ``name`` from an external system; its id."""
    with sessions.begin() as session:
        asset_id = asset_ids_of([Asset(name)], session=session)[(name, name)]
        event = record_event(
            session=session,
            asset_id=asset_id,
            extra=extra,
            source=EventSource(),
            now=at,  # type: ignore[arg-type]
        )
        return event.id


def asset_runs(sessions: Sessions, dag_id: str) -> list[DagRun]:
    with sessions() as session:
        return list(
            session.scalars(
                sa.select(DagRun)
                .where(DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.ASSET_TRIGGERED)
                .order_by(DagRun.id)
            )
        )


def consumed(sessions: Sessions, run: DagRun) -> list[tuple[str, dict[str, object]]]:
    with sessions() as session:
        return [(a.name, e.extra) for a, e in triggering_events(session=session, dag_run_id=run.id)]


def queue_of(sessions: Sessions, dag_id: str) -> int:
    with sessions() as session:
        stmt = sa.select(sa.func.count()).where(AssetDagRunQueue.target_dag_id == dag_id)
        return session.scalar(stmt) or 0


def setup(rig: Rig) -> None:
    write_dag(rig.dags_folder, "consumers", CONSUMERS)
    rig.load()


def test_an_event_makes_one_run_that_consumes_every_queued_event(rig: Rig) -> None:
    setup(rig)
    emit(rig.sessions, "a", START, n=1)
    emit(rig.sessions, "a", START + MIN, n=2)
    rig.scheduler().tick(START + 2 * MIN)
    (run,) = asset_runs(rig.sessions, "on_a")
    assert run.run_id == f"asset_triggered__{(START + 2 * MIN).isoformat()}"
    assert consumed(rig.sessions, run) == [("a", {"n": 1}), ("a", {"n": 2})]
    assert (run.data_interval_start, run.data_interval_end) == (START, START + MIN)
    assert queue_of(rig.sessions, "on_a") == 0
    rig.scheduler().tick(START + 3 * MIN)  # consumed: no second run
    assert len(asset_runs(rig.sessions, "on_a")) == 1
    emit(rig.sessions, "a", START + 4 * MIN, n=3)
    rig.scheduler().tick(START + 5 * MIN)
    later = asset_runs(rig.sessions, "on_a")[-1]
    assert consumed(rig.sessions, later) == [("a", {"n": 3})]


def test_a_condition_waits_for_all_its_parts(rig: Rig) -> None:
    setup(rig)
    emit(rig.sessions, "a")
    rig.scheduler().tick(START + MIN)
    assert asset_runs(rig.sessions, "on_a_and_b_or_c") == []
    assert queue_of(rig.sessions, "on_a_and_b_or_c") == 1  # a stays queued
    emit(rig.sessions, "c", START + MIN)
    rig.scheduler().tick(START + 2 * MIN)
    (run,) = asset_runs(rig.sessions, "on_a_and_b_or_c")
    assert [name for name, _ in consumed(rig.sessions, run)] == ["a", "c"]


def test_a_paused_dag_keeps_its_queue_until_unpaused(rig: Rig) -> None:
    from engine.models import Dag

    setup(rig)
    with rig.sessions.begin() as session:
        session.get_one(Dag, "on_a").is_paused = True
    emit(rig.sessions, "a")
    rig.scheduler().tick(START + MIN)
    assert asset_runs(rig.sessions, "on_a") == []
    with rig.sessions.begin() as session:
        session.get_one(Dag, "on_a").is_paused = False
    rig.scheduler().tick(START + 2 * MIN)
    assert len(asset_runs(rig.sessions, "on_a")) == 1


def test_an_event_through_an_alias_runs_the_alias_consumer(rig: Rig) -> None:
    setup(rig)
    with rig.sessions.begin() as session:
        record_outlet_events(
            session=session,
            outlets=[],
            events=OutletEvents(through_aliases=[("dyn", Asset("s3://x/1"), {"k": 1})]),
            source=EventSource("producer", "r", "t"),
            now=START,
        )
    rig.scheduler().tick(START + MIN)
    (run,) = asset_runs(rig.sessions, "on_alias")
    assert consumed(rig.sessions, run) == [("s3://x/1", {"k": 1})]


def test_asset_or_time_schedule_runs_on_both(rig: Rig) -> None:
    setup(rig)
    rig.scheduler().tick(START + timedelta(hours=7))  # past 06:00 on the first day
    with rig.sessions() as session:
        timed = session.scalars(
            sa.select(DagRun.run_type).where(DagRun.dag_id == "a_or_daily")
        ).all()
    assert list(timed) == [DagRunType.SCHEDULED]
    emit(rig.sessions, "a", START + timedelta(hours=8))
    rig.scheduler().tick(START + timedelta(hours=8, minutes=1))
    assert len(asset_runs(rig.sessions, "a_or_daily")) == 1


def test_a_second_scheduler_finds_the_queue_consumed(rig: Rig) -> None:
    setup(rig)
    emit(rig.sessions, "a")
    with rig.sessions.begin() as first:
        made = create_asset_triggered_runs(session=first, now=START + MIN)
        assert [run.dag_id for run in made].count("on_a") == 1
    with rig.sessions.begin() as second:
        again = create_asset_triggered_runs(session=second, now=START + MIN)
        assert [run.dag_id for run in again].count("on_a") == 0


def test_two_schedulers_at_once_skip_the_dag_the_other_holds(rig: Rig, db_url: str) -> None:
    """While one scheduler's transaction holds the DAG, another skips it (SKIP LOCKED)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: two schedulers cannot overlap there")
    setup(rig)
    emit(rig.sessions, "a")
    with rig.sessions.begin() as first:
        made = create_asset_triggered_runs(session=first, now=START + MIN)
        with rig.sessions.begin() as second:
            again = create_asset_triggered_runs(session=second, now=START + MIN)
        assert "on_a" in [run.dag_id for run in made]
        assert "on_a" not in [run.dag_id for run in again]
    assert len(asset_runs(rig.sessions, "on_a")) == 1
