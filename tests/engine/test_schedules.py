"""Schedules and timetables: parsing, serialization, and the runs each plans (Airflow's
semantics), planned at a fixed ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pendulum
import pytest
from dateutil.relativedelta import MO, relativedelta

from engine import (
    DAG,
    ContinuousTimetable,
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DagRunInfo,
    DataInterval,
    DeltaDataIntervalTimetable,
    DeltaTriggerTimetable,
    EmptyOperator,
    EventsTimetable,
    MultipleCronTriggerTimetable,
    NullTimetable,
    OnceTimetable,
    Timetable,
)
from engine.authoring.schedules import (
    BUILT_IN,
    cron_strings_as,
    deserialize_schedule,
    next_run,
    parse_schedule,
    restriction,
    serialize_schedule,
    upcoming_runs,
)
from engine.authoring.serialization import SerializedDAG
from engine.authoring.timetables.serialized import BUILT_IN_PLACES, built_in
from engine.errors import InvalidInputError
from engine.parser.inprocess import import_dags

START = datetime(2026, 1, 1, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def plan(
    timetable: Timetable,
    *,
    now: datetime,
    last: DataInterval | None = None,
    start: datetime | None = START,
    end: datetime | None = None,
    catchup: bool = True,
) -> DagRunInfo | None:
    return next_run(timetable, last=last, restriction=restriction(start, end, catchup), now=now)


# -- parsing and serialization ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, NullTimetable),
        ("@once", OnceTimetable),
        ("@continuous", ContinuousTimetable),
        ("@daily", CronTriggerTimetable),
        ("@hourly", CronTriggerTimetable),
        ("@weekly", CronTriggerTimetable),
        ("@monthly", CronTriggerTimetable),
        ("@quarterly", CronTriggerTimetable),
        ("@yearly", CronTriggerTimetable),
        ("*/5 * * * *", CronTriggerTimetable),
        (CronDataIntervalTimetable("@daily"), CronDataIntervalTimetable),
        (timedelta(hours=2), DeltaDataIntervalTimetable),
        (relativedelta(months=1), DeltaDataIntervalTimetable),
        (
            DeltaTriggerTimetable(relativedelta(weeks=1, weekday=MO(-1), hour=6)),
            DeltaTriggerTimetable,
        ),
        (CronTriggerTimetable("0 6 * * *", timezone="Europe/Berlin"), CronTriggerTimetable),
        (
            CronTriggerTimetable("0 6 * * *", interval=timedelta(hours=1), run_immediately=True),
            CronTriggerTimetable,
        ),
        (MultipleCronTriggerTimetable("0 6 * * *", "30 18 * * 5"), MultipleCronTriggerTimetable),
        (DeltaTriggerTimetable(timedelta(hours=4)), DeltaTriggerTimetable),
        (EventsTimetable([at(3), at(1)], description="Matches"), EventsTimetable),
    ],
)
def test_every_form_parses_and_survives_serialization(value: object, kind: type) -> None:
    schedule = parse_schedule(value)
    assert isinstance(schedule, kind)
    assert deserialize_schedule(serialize_schedule(schedule)) == schedule


@pytest.mark.parametrize("value", ["@daily", "0 6 * * *", "@quarterly"])
def test_cron_strings_follow_create_cron_data_intervals(value: str) -> None:
    """Airflow 3: a cron string or preset is a trigger timetable unless the process that
    parses the DAG file has ``scheduler.create_cron_data_intervals`` set."""
    trigger = parse_schedule(value, timezone="Europe/Berlin")
    assert trigger == CronTriggerTimetable(value, timezone="Europe/Berlin")
    assert trigger.summary == value
    with cron_strings_as(data_intervals=True):
        intervals = parse_schedule(value, timezone="Europe/Berlin")
    assert intervals == CronDataIntervalTimetable(value, "Europe/Berlin")
    assert intervals.summary == value
    assert type(parse_schedule(value)) is CronTriggerTimetable  # the setting ends with the block


def test_a_dag_file_imported_with_the_setting_gets_data_intervals(tmp_path: Path) -> None:
    dag_file = tmp_path / "hourly.py"
    dag_file.write_text(
        "from datetime import datetime\n"
        "from engine import DAG\n"
        "DAG('hourly', schedule='0 * * * *', start_date=datetime(2026, 1, 1))\n"
    )
    kinds = {}
    for flag in (False, True):
        imported = import_dags(
            dag_file, file_hash="x", dags_folder=tmp_path, cron_data_intervals=flag
        )
        kinds[flag] = type(imported.dag("hourly").schedule)
    assert kinds == {False: CronTriggerTimetable, True: CronDataIntervalTimetable}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("every day", "invalid schedule 'every day'"),
        ("61 * * * *", "invalid schedule"),
        ("@fortnightly", "invalid schedule"),
        (timedelta(0), "must be positive"),
        (relativedelta(months=-1), "must be positive"),
        (42, "not int"),
    ],
)
def test_parse_refuses_bad_schedules_with_a_clear_message(value: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_schedule(value)


def test_reading_a_schedule_finds_every_built_in_timetable_by_its_kind() -> None:
    """The lazy table that reading uses names the classes that parsing builds."""
    assert {kind: built_in(kind) for kind in BUILT_IN_PLACES} == BUILT_IN
    assert built_in("hourly") is None
    with pytest.raises(InvalidInputError, match="unknown schedule kind 'hourly'"):
        deserialize_schedule({"kind": "hourly"})


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="unknown time zone 'Mars/Olympus'"):
        parse_schedule("@daily", timezone="Mars/Olympus")


def test_a_timetable_class_no_plugin_registers_is_refused() -> None:
    class Mine(Timetable):
        pass

    with pytest.raises(InvalidInputError, match="no loaded plugin registers"):
        parse_schedule(Mine())


def test_continuous_needs_max_active_runs_of_one() -> None:
    dag = DAG("c", schedule="@continuous", start_date=START)
    assert dag.problems[0][0] == (
        "schedule @continuous allows at most 1 active run(s): set max_active_runs=1 (it is 16)"
    )
    assert DAG("c1", schedule="@continuous", start_date=START, max_active_runs=1).problems == []


# -- the runs each timetable plans ----------------------------------------------------------


def test_cron_catchup_walks_every_interval_in_order() -> None:
    first = plan(CronDataIntervalTimetable("@daily"), now=at(5))
    assert first == DagRunInfo(at(2), DataInterval(at(1), at(2)))
    second = plan(CronDataIntervalTimetable("@daily"), now=at(5), last=first.data_interval)
    assert second is not None
    assert second.data_interval == DataInterval(at(2), at(3))


def test_cron_without_catchup_takes_only_the_latest_complete_interval() -> None:
    daily = CronDataIntervalTimetable("@daily")
    latest = plan(daily, now=at(5, 13), catchup=False)
    assert latest is not None
    assert latest.data_interval == DataInterval(at(4), at(5))
    after = plan(daily, now=at(5, 13), catchup=False, last=latest.data_interval)
    assert after == DagRunInfo(at(6), DataInterval(at(5), at(6)))  # due when it ends


def test_cron_start_date_is_aligned_to_the_next_tick() -> None:
    info = plan(CronDataIntervalTimetable("0 * * * *"), now=at(2), start=at(1, 9, 30))
    assert info is not None
    assert info.data_interval == DataInterval(at(1, 10), at(1, 11))


def test_end_date_stops_the_schedule() -> None:
    daily = CronDataIntervalTimetable("@daily")
    assert plan(daily, now=at(9), last=DataInterval(at(3), at(4)), end=at(3, 12)) is None


def test_quarterly_runs_every_three_months() -> None:
    runs = upcoming_runs(
        parse_schedule("@quarterly"), last=None, restriction=restriction(START, None, True),
        now=START,
    )  # fmt: skip
    assert [r.logical_date.month for r in runs] == [1, 4, 7, 10, 1]
    assert {r.data_interval.start == r.run_after for r in runs} == {True}  # trigger runs


def test_cron_in_a_named_zone_keeps_local_time() -> None:
    berlin = CronDataIntervalTimetable("30 6 * * *", "Europe/Berlin")
    summer = berlin.infer_manual_data_interval(run_after=datetime(2026, 7, 1, 12, tzinfo=UTC))
    assert summer.end == datetime(2026, 7, 1, 4, 30, tzinfo=UTC)  # 06:30 CEST
    winter = berlin.infer_manual_data_interval(run_after=datetime(2026, 1, 15, 12, tzinfo=UTC))
    assert winter.end == datetime(2026, 1, 15, 5, 30, tzinfo=UTC)  # 06:30 CET


def test_cron_trigger_runs_at_each_tick_with_an_optional_interval() -> None:
    trigger = CronTriggerTimetable("0 6 * * *", timezone="UTC")
    assert plan(trigger, now=at(5)) == DagRunInfo.exact(at(1, 6))
    with_interval = CronTriggerTimetable("0 6 * * *", timezone="UTC", interval=timedelta(hours=6))
    assert plan(with_interval, now=at(5)) == DagRunInfo(at(1, 6), DataInterval(at(1), at(1, 6)))
    # without catchup: the latest tick that has come, not the missed ones
    assert plan(trigger, now=at(5, 7), catchup=False) == DagRunInfo.exact(at(5, 6))
    assert plan(trigger, now=at(5, 7), catchup=False, last=DataInterval.exact(at(5, 6))) == (
        DagRunInfo.exact(at(6, 6))
    )


@pytest.mark.parametrize(
    ("run_immediately", "first"),
    [(True, at(5, 6)), (False, at(6, 6)), (timedelta(hours=2), at(5, 6)),
     (timedelta(minutes=30), at(6, 6))],
)  # fmt: skip
@pytest.mark.parametrize("start", [None, START])
def test_run_immediately_decides_the_first_run_without_catchup(
    run_immediately: bool | timedelta, first: datetime, start: datetime | None
) -> None:
    trigger = CronTriggerTimetable("0 6 * * *", timezone="UTC", run_immediately=run_immediately)
    info = plan(trigger, now=at(5, 7), start=start, catchup=False)
    assert info == DagRunInfo.exact(first)
    # Later runs follow the last one whatever the setting; catchup ignores it.
    after = plan(trigger, now=at(5, 7), start=start, catchup=False, last=DataInterval.exact(first))
    assert after == DagRunInfo.exact(first + timedelta(days=1))
    assert plan(trigger, now=at(5, 7), catchup=True) == DagRunInfo.exact(at(1, 6))


def test_run_immediately_never_runs_before_the_start_date() -> None:
    trigger = CronTriggerTimetable("0 6 * * *", timezone="UTC", run_immediately=True)
    assert plan(trigger, now=at(5, 7), start=at(5, 6, 30), catchup=False) == DagRunInfo.exact(
        at(6, 6)
    )


def test_run_immediately_defaults_to_the_tick_that_just_passed() -> None:
    trigger = CronTriggerTimetable("0 6 * * *", timezone="UTC")
    assert plan(trigger, now=at(5, 23), catchup=False) == DagRunInfo.exact(at(5, 6))


def test_multiple_crons_run_at_the_next_tick_of_any() -> None:
    both = MultipleCronTriggerTimetable("0 6 * * *", "0 18 * * *", timezone="UTC")
    runs = upcoming_runs(both, last=None, restriction=restriction(START, None, True), now=START)
    assert [r.run_after for r in runs] == [at(1, 6), at(1, 18), at(2, 6), at(2, 18), at(3, 6)]
    latest = plan(both, now=at(5, 20), catchup=False)
    assert latest == DagRunInfo.exact(at(5, 18))


def test_delta_data_intervals_step_from_the_start_date() -> None:
    every_6h = parse_schedule(timedelta(hours=6))
    assert plan(every_6h, now=at(3)) == DagRunInfo.interval(at(1, 0), at(1, 6))
    # without catchup the interval ends now (Airflow's rule, not aligned to start_date)
    latest = plan(every_6h, now=at(3, 7), catchup=False)
    assert latest == DagRunInfo.interval(at(3, 1), at(3, 7))


def test_relativedelta_steps_by_calendar_months() -> None:
    """``schedule=relativedelta(months=1)``, as Airflow takes it: months of their own length."""
    monthly = parse_schedule(relativedelta(months=1))
    assert monthly.description == "Every 1 month"
    first = plan(monthly, now=datetime(2026, 4, 2, tzinfo=UTC), start=at(31))
    assert first == DagRunInfo.interval(at(31), datetime(2026, 2, 28, tzinfo=UTC))
    runs = upcoming_runs(
        DeltaTriggerTimetable(relativedelta(months=1)),
        last=None, restriction=restriction(START, None, True), now=START,
    )  # fmt: skip
    assert [r.run_after.month for r in runs] == [1, 2, 3, 4, 5]
    latest = plan(
        DeltaTriggerTimetable(relativedelta(months=1)),
        now=datetime(2026, 3, 15, tzinfo=UTC), catchup=False,
    )  # fmt: skip
    assert latest == DagRunInfo.exact(datetime(2026, 3, 1, tzinfo=UTC))


def test_delta_trigger_runs_at_the_start_of_each_period() -> None:
    every_6h = DeltaTriggerTimetable(timedelta(hours=6))
    first = plan(every_6h, now=at(3))
    assert first == DagRunInfo.exact(START)
    assert first is not None
    assert plan(every_6h, now=at(3), last=first.data_interval) == DagRunInfo.exact(at(1, 6))
    assert plan(every_6h, now=at(3, 7), catchup=False) == DagRunInfo.exact(at(3, 6))


def test_once_runs_a_single_time() -> None:
    once = parse_schedule("@once")
    first = plan(once, now=at(9), catchup=False)
    assert first == DagRunInfo.exact(START)
    assert plan(once, now=at(9), last=DataInterval.exact(START)) is None


def test_continuous_plans_a_run_from_the_last_end_to_now() -> None:
    continuous = parse_schedule("@continuous")
    assert plan(continuous, now=at(2)) == DagRunInfo.interval(START, at(2))
    after = plan(continuous, now=at(2, 1), last=DataInterval(START, at(2)))
    assert after == DagRunInfo.interval(at(2), at(2, 1))


def test_events_run_at_listed_moments() -> None:
    events = EventsTimetable([at(3, 18), at(1, 20), at(7, 15)], restrict_to_events=True)
    runs = upcoming_runs(events, last=None, restriction=restriction(START, None, True), now=START)
    assert [r.run_after for r in runs] == [at(1, 20), at(3, 18), at(7, 15)]
    # without catchup the events missed before the latest one are skipped
    assert plan(events, now=at(4), catchup=False) == DagRunInfo.exact(at(3, 18))
    manual = events.infer_manual_data_interval(run_after=at(5))
    assert manual == DataInterval.exact(at(3, 18))
    assert events.description == (
        "3 events between 2026-01-01T20:00:00+00:00 and 2026-01-07T15:00:00+00:00"
    )


def test_manual_only_never_creates_runs() -> None:
    assert plan(NullTimetable(), now=at(9)) is None


# -- time zones and words ---------------------------------------------------------------------


def test_a_pendulum_start_date_gives_the_dag_its_zone() -> None:
    """Airflow DAG files write ``pendulum.datetime(..., tz=...)``; it works unchanged."""
    with DAG(
        "p", schedule="30 6 * * 1-5", start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Berlin")
    ) as dag:
        EmptyOperator(task_id="a")
    stored = SerializedDAG.from_dict(SerializedDAG.from_dag(dag).to_dict())
    assert (stored.timezone, stored.start_date) == (
        "Europe/Berlin",
        datetime(2025, 12, 31, 23, tzinfo=UTC),
    )
    assert stored.schedule == CronTriggerTimetable("30 6 * * 1-5", timezone="Europe/Berlin")
    summer = plan(
        stored.schedule,
        now=datetime(2026, 7, 2, tzinfo=UTC),
        start=datetime(2026, 7, 1, tzinfo=UTC),
    )
    assert summer == DagRunInfo.exact(datetime(2026, 7, 1, 4, 30, tzinfo=UTC))  # 06:30 CEST
    assert stored.schedule.description == "At 06:30, Monday through Friday (Europe/Berlin)"


def test_a_zoneinfo_timezone_works_in_a_trigger_timetable() -> None:
    from zoneinfo import ZoneInfo

    trigger = CronTriggerTimetable("0 6 * * *", timezone=ZoneInfo("America/New_York"))
    info = plan(trigger, now=at(5))
    assert info == DagRunInfo.exact(datetime(2026, 1, 1, 11, tzinfo=UTC))


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ("@daily", "At 00:00 (UTC)"),
        ("@hourly", "On the hour, every hour (UTC)"),
        ("*/15 * * * *", "Every 15 minutes (UTC)"),
        ("@quarterly", "At 00:00, on day 1 of the month, every 3 months (UTC)"),
        ("0 9,17 * * MON-FRI", "At 09:00 and 17:00, Monday through Friday (UTC)"),
        ("0 8 * 1,7 6", "At 08:00, in January and July, on Saturday (UTC)"),
        (timedelta(hours=2, minutes=30), "Every 2 hours and 30 minutes"),
        (relativedelta(years=1, months=6), "Every 1 year and 6 months"),
        ("@once", "Once, as soon as possible"),
        (None, "Never, external triggers only"),
    ],
)
def test_each_schedule_reads_in_words(schedule: object, words: str) -> None:
    assert parse_schedule(schedule).description == words
