"""The scheduler creates runs from every timetable, on SQLite and real PostgreSQL: the DAG
file is parsed once, then each tick plans from the serialized timetable alone (a plugin's
timetable is the plugin's class, deployment code; the DAG file is not imported)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from engine.models import DagRun
from engine.models.transitions import set_run_state
from engine.parser import ParseOptions, refresh_dags
from engine.plugins.loading import forget_plugins, load_plugins
from engine.services.dags import set_dag_paused
from engine.state import DagRunState
from tests.engine.scheduling.conftest import START, runs
from tests.support.dagfiles import WORKER_EMPTY_OPERATOR

H = timedelta(hours=1)
DAY = timedelta(days=1)
HEADER = (
    """\
from datetime import datetime, timedelta, timezone
import pendulum
from dateutil.relativedelta import relativedelta
from engine import (
    DAG, EmptyOperator, CronTriggerTimetable, CronDataIntervalTimetable,
    DeltaTriggerTimetable, DeltaDataIntervalTimetable, MultipleCronTriggerTimetable,
    EventsTimetable,
)
"""
    + WORKER_EMPTY_OPERATOR
)


def write(folder: Path, dag_id: str, schedule: str, **settings: str) -> None:
    args = {"start_date": "datetime(2026, 1, 1)", "catchup": "True"} | settings
    extra = "".join(f", {k}={v}" for k, v in args.items())
    body = f"""
    with DAG({dag_id!r}, schedule={schedule}{extra}) as dag:
        EmptyOperator(task_id="a")
    """
    (folder / f"{dag_id}.py").write_text(HEADER + textwrap.dedent(body))


def parse(
    sessions: sessionmaker[Session],
    folder: Path,
    plugins: Path | None = None,
    *,
    cron_data_intervals: bool = False,
) -> None:
    options = ParseOptions(
        folder,
        timeout=30,
        parallelism=2,
        plugins_folder=plugins,
        cron_data_intervals=cron_data_intervals,
    )
    with sessions.begin() as session:
        report = refresh_dags(session=session, options=options, now=START)
    assert not report.import_errors, report.import_errors


def intervals(found: list[DagRun]) -> list[tuple[datetime, datetime, datetime]]:
    return [(r.data_interval_start, r.data_interval_end, r.run_after) for r in found]


def utc(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


CASES: list[tuple[str, dict[str, str], datetime, list[tuple[datetime, datetime, datetime]]]] = [
    (
        'CronTriggerTimetable("0 6 * * *", timezone="Europe/Berlin")', {}, utc(3, 1),
        [(utc(1, 5), utc(1, 5), utc(1, 5)), (utc(2, 5), utc(2, 5), utc(2, 5))],
    ),
    (
        'CronTriggerTimetable("0 6 * * *", timezone="UTC", interval=timedelta(hours=6))', {},
        utc(2, 1), [(utc(1, 0), utc(1, 6), utc(1, 6))],
    ),
    (
        'CronDataIntervalTimetable("0 0 * * *", timezone="UTC")', {}, utc(3, 1),
        [(utc(1), utc(2), utc(2)), (utc(2), utc(3), utc(3))],
    ),
    (
        "DeltaTriggerTimetable(timedelta(hours=12))", {}, utc(2, 1),
        [(utc(1, 0), utc(1, 0), utc(1, 0)), (utc(1, 12), utc(1, 12), utc(1, 12)),
         (utc(2, 0), utc(2, 0), utc(2, 0))],
    ),
    (
        "DeltaDataIntervalTimetable(timedelta(hours=12))", {}, utc(2, 1),
        [(utc(1, 0), utc(1, 12), utc(1, 12)), (utc(1, 12), utc(2, 0), utc(2, 0))],
    ),
    (
        'MultipleCronTriggerTimetable("0 6 * * *", "0 18 * * *", timezone="UTC")', {},
        utc(2, 7),
        [(utc(1, 6), utc(1, 6), utc(1, 6)), (utc(1, 18), utc(1, 18), utc(1, 18)),
         (utc(2, 6), utc(2, 6), utc(2, 6))],
    ),
    (
        "EventsTimetable([datetime(2026, 1, 1, 5), datetime(2026, 1, 2, 6),"
        " datetime(2026, 1, 9)])", {}, utc(3),
        [(utc(1, 5), utc(1, 5), utc(1, 5)), (utc(2, 6), utc(2, 6), utc(2, 6))],
    ),
    ("'@once'", {}, utc(3), [(utc(1), utc(1), utc(1))]),
    (  # Airflow takes a relativedelta as schedule: calendar months
        "relativedelta(months=1)", {}, datetime(2026, 3, 2, tzinfo=UTC),
        [(utc(1), datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
         (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC),
          datetime(2026, 3, 1, tzinfo=UTC))],
    ),
    (  # Airflow 3: a preset is a CronTriggerTimetable, a run at each tick
        "'@quarterly'", {}, datetime(2026, 7, 2, tzinfo=UTC),
        [(utc(1), utc(1), utc(1)),
         (datetime(2026, 4, 1, tzinfo=UTC),) * 3, (datetime(2026, 7, 1, tzinfo=UTC),) * 3],
    ),
    (
        "CronDataIntervalTimetable('@quarterly', 'UTC')", {}, datetime(2026, 7, 2, tzinfo=UTC),
        [(utc(1), datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
         (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC),
          datetime(2026, 7, 1, tzinfo=UTC))],
    ),
    (
        "CronTriggerTimetable('30 6 * * *', timezone='Europe/Berlin')",
        {"start_date": "pendulum.datetime(2026, 1, 1, tz='Europe/Berlin')", "catchup": "False"},
        utc(5, 12), [(utc(5, 5) + 30 * timedelta(minutes=1),) * 3],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("schedule", "settings", "now", "expected"), CASES)
def test_the_scheduler_creates_the_runs_each_timetable_plans(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    schedule: str,
    settings: dict[str, str],
    now: datetime,
    expected: list[tuple[datetime, datetime, datetime]],
) -> None:
    write(dags_folder, "timed", schedule, **settings)
    parse(sessions, dags_folder)
    (dags_folder / "timed.py").unlink()  # the scheduler must not need the file
    make_scheduler().tick(now)
    assert intervals(runs(sessions, "timed")) == expected
    assert make_scheduler().tick(now).runs_created == 0


def test_create_cron_data_intervals_makes_a_cron_string_a_data_interval_schedule(
    sessions: sessionmaker[Session], dags_folder: Path, make_scheduler: Any
) -> None:
    write(dags_folder, "timed", "'0 0 * * *'")
    parse(sessions, dags_folder, cron_data_intervals=True)
    make_scheduler().tick(utc(3, 1))
    assert intervals(runs(sessions, "timed")) == [
        (utc(1), utc(2), utc(2)),
        (utc(2), utc(3), utc(3)),
    ]


@pytest.mark.parametrize(("run_immediately", "first"), [("True", utc(5, 6)), ("False", utc(6, 6))])
def test_run_immediately_false_waits_for_the_next_tick_across_scheduler_ticks(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    run_immediately: str,
    first: datetime,
) -> None:
    """The first run is planned once: a scheduler tick after the awaited cron tick still
    creates it, rather than planning afresh and waiting for the tick after."""
    schedule = (
        f"CronTriggerTimetable('0 6 * * *', timezone='UTC', run_immediately={run_immediately})"
    )
    write(dags_folder, "timed", schedule, catchup="False")
    parse(sessions, dags_folder)
    make_scheduler().tick(utc(5, 7))
    make_scheduler().tick(utc(6, 7))
    assert intervals(runs(sessions, "timed"))[0] == (first, first, first)


def test_unpausing_plans_the_first_run_afresh(
    sessions: sessionmaker[Session], dags_folder: Path, make_scheduler: Any
) -> None:
    """A DAG paused before its first run is planned from when it is unpaused (Airflow:
    ``run_immediately`` decides the first run after enabling), not from the old plan."""
    schedule = "CronTriggerTimetable('0 6 * * *', timezone='UTC', run_immediately=False)"
    write(dags_folder, "timed", schedule, catchup="False")
    parse(sessions, dags_folder)
    make_scheduler().tick(utc(5, 7))  # plans utc(6, 6)
    for paused in (True, False):
        with sessions.begin() as session:
            set_dag_paused(session=session, dag_id="timed", is_paused=paused)
    make_scheduler().tick(utc(8, 7))
    assert runs(sessions, "timed") == []  # waits for utc(9, 6); the stale plan is dropped
    make_scheduler().tick(utc(9, 6))
    assert intervals(runs(sessions, "timed")) == [(utc(9, 6), utc(9, 6), utc(9, 6))]


def test_continuous_starts_the_next_run_when_the_previous_ends(
    sessions: sessionmaker[Session], dags_folder: Path, make_scheduler: Any
) -> None:
    write(dags_folder, "loop", "'@continuous'", max_active_runs="1")
    parse(sessions, dags_folder)
    make_scheduler().tick(START + H)
    make_scheduler().tick(START + 2 * H)  # the first is not finished: no second
    [first] = runs(sessions, "loop")
    assert (first.data_interval_start, first.data_interval_end) == (START, START + H)
    assert first.state is DagRunState.RUNNING
    with sessions.begin() as session:
        assert set_run_state(
            session=session, run_id_pk=first.id, expected=first.state, new=DagRunState.SUCCESS
        )
    make_scheduler().tick(START + 3 * H)
    second = runs(sessions, "loop")[1]
    assert (second.data_interval_start, second.data_interval_end) == (START + H, START + 3 * H)


PLUGIN = '''
from datetime import timedelta
from engine import AirflowPlugin, DagRunInfo, DataInterval, Timetable

class EveryOtherDay(Timetable):
    """Runs at midnight every second day from the start date."""

    description = "Every other day at midnight"

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        if last_automated_data_interval is None:
            start = restriction.earliest
        else:
            start = last_automated_data_interval.end
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start, start + timedelta(days=2))

    def infer_manual_data_interval(self, *, run_after):
        return DataInterval(run_after - timedelta(days=2), run_after)

class TwoDaysPlugin(AirflowPlugin):
    name = "two_days"
    timetables = [EveryOtherDay]
'''


@pytest.fixture
def plugins_folder(tmp_path: Path) -> Any:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "two_days.py").write_text(PLUGIN)
    yield folder
    forget_plugins()


def test_a_plugins_timetable_schedules_runs_from_its_serialized_reference(
    sessions: sessionmaker[Session], dags_folder: Path, make_scheduler: Any, plugins_folder: Path
) -> None:
    load_plugins(plugins_folder)  # what `loom scheduler` does at start
    (dags_folder / "custom.py").write_text(
        "from datetime import datetime\nfrom engine import DAG, EmptyOperator\n"
        "from two_days import EveryOtherDay\n"
        "with DAG('custom', schedule=EveryOtherDay(), start_date=datetime(2026, 1, 1),"
        " catchup=True) as dag:\n    EmptyOperator(task_id='a')\n"
    )
    parse(sessions, dags_folder, plugins_folder)
    (dags_folder / "custom.py").unlink()
    make_scheduler().tick(utc(6))
    assert intervals(runs(sessions, "custom")) == [
        (utc(1), utc(3), utc(3)),
        (utc(3), utc(5), utc(5)),
    ]
