"""Schedules: parsing, and the intervals runs are created for (Airflow's semantics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pendulum
import pytest

from engine import DAG, EmptyOperator
from engine.authoring.schedules import (
    CronSchedule,
    DataInterval,
    DeltaSchedule,
    NoSchedule,
    OnceSchedule,
    deserialize_schedule,
    parse_schedule,
)
from engine.authoring.serialization import SerializedDAG
from engine.errors import InvalidInputError

START = datetime(2026, 1, 1, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, NoSchedule),
        ("@once", OnceSchedule),
        ("@daily", CronSchedule),
        ("@hourly", CronSchedule),
        ("@weekly", CronSchedule),
        ("@monthly", CronSchedule),
        ("@yearly", CronSchedule),
        ("*/5 * * * *", CronSchedule),
        (timedelta(hours=2), DeltaSchedule),
    ],
)
def test_parse_accepts_every_documented_form(value: object, kind: type) -> None:
    schedule = parse_schedule(value)
    assert isinstance(schedule, kind)
    assert deserialize_schedule(schedule.serialize()) == schedule


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("every day", "invalid schedule 'every day'"),
        ("61 * * * *", "invalid schedule"),
        ("@fortnightly", "invalid schedule"),
        (timedelta(0), "must be positive"),
        (42, "not int"),
    ],
)
def test_parse_refuses_bad_schedules_with_a_clear_message(value: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_schedule(value)


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="unknown time zone 'Mars/Olympus'"):
        parse_schedule("@daily", timezone="Mars/Olympus")


def test_cron_catchup_walks_every_interval_in_order() -> None:
    daily = parse_schedule("@daily")
    first = daily.next_interval(last=None, start_date=START, end_date=None, catchup=True, now=at(5))
    assert first == DataInterval(at(1), at(2))
    second = daily.next_interval(
        last=first, start_date=START, end_date=None, catchup=True, now=at(5)
    )
    assert second == DataInterval(at(2), at(3))


def test_cron_without_catchup_takes_only_the_latest_complete_interval() -> None:
    daily = parse_schedule("@daily")
    latest = daily.next_interval(
        last=None, start_date=START, end_date=None, catchup=False, now=at(5, 13)
    )
    assert latest == DataInterval(at(4), at(5))
    after = daily.next_interval(
        last=latest, start_date=START, end_date=None, catchup=False, now=at(5, 13)
    )
    assert after == DataInterval(at(5), at(6))  # not due until its end has passed


def test_cron_start_date_is_aligned_to_the_next_tick() -> None:
    hourly = parse_schedule("0 * * * *")
    interval = hourly.next_interval(
        last=None, start_date=at(1, 9, 30), end_date=None, catchup=True, now=at(2)
    )
    assert interval == DataInterval(at(1, 10), at(1, 11))


def test_end_date_stops_the_schedule() -> None:
    daily = parse_schedule("@daily")
    last = DataInterval(at(3), at(4))
    assert (
        daily.next_interval(
            last=last, start_date=START, end_date=at(3, 12), catchup=True, now=at(9)
        )
        is None
    )


def test_cron_in_a_named_zone_keeps_local_time() -> None:
    berlin = parse_schedule("30 6 * * *", timezone="Europe/Berlin")
    interval = berlin.interval_for(datetime(2026, 7, 1, 12, tzinfo=UTC))
    assert interval.start == datetime(2026, 7, 1, 4, 30, tzinfo=UTC)  # 06:30 CEST
    winter = berlin.interval_for(datetime(2026, 1, 15, 12, tzinfo=UTC))
    assert winter.start == datetime(2026, 1, 15, 5, 30, tzinfo=UTC)  # 06:30 CET


def test_delta_schedule_steps_from_the_start_date() -> None:
    every_6h = parse_schedule(timedelta(hours=6))
    first = every_6h.next_interval(
        last=None, start_date=START, end_date=None, catchup=True, now=at(3)
    )
    assert first == DataInterval(at(1, 0), at(1, 6))
    latest = every_6h.next_interval(
        last=None, start_date=START, end_date=None, catchup=False, now=at(3, 7)
    )
    assert latest == DataInterval(at(3, 0), at(3, 6))


def test_once_runs_a_single_time() -> None:
    once = parse_schedule("@once")
    first = once.next_interval(last=None, start_date=START, end_date=None, catchup=False, now=at(9))
    assert first == DataInterval(START, START)
    assert (
        once.next_interval(last=first, start_date=START, end_date=None, catchup=False, now=at(9))
        is None
    )


def test_manual_only_never_creates_runs() -> None:
    assert (
        NoSchedule().next_interval(
            last=None, start_date=START, end_date=None, catchup=True, now=at(9)
        )
        is None
    )


def test_a_pendulum_start_date_gives_the_dag_its_zone() -> None:
    """Airflow DAG files write ``pendulum.datetime(..., tz=...)``; it works unchanged."""
    with DAG(
        "p", schedule="30 6 * * *", start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Berlin")
    ) as dag:
        EmptyOperator(task_id="a")
    stored = SerializedDAG.from_dict(SerializedDAG.from_dag(dag).to_dict())
    assert (stored.timezone, stored.start_date) == (
        "Europe/Berlin",
        datetime(2025, 12, 31, 23, tzinfo=UTC),
    )
    summer = stored.schedule.interval_for(datetime(2026, 7, 1, 12, tzinfo=UTC))
    assert summer.start == datetime(2026, 7, 1, 4, 30, tzinfo=UTC)  # 06:30 CEST
