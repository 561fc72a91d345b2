"""``loom dags trigger`` with conf that breaks several JSON-schema keywords reports every
problem at once and creates nothing; ``loom dags show`` describes the schedule in words and
lists its next runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from engine.cli.dags_cmd import show
from engine.cli.scheduler_cmd import trigger_command
from tests.engine.scheduling.conftest import runs
from tests.support.cli import invoke

DAGS = """
from datetime import datetime, timedelta
from engine import DAG, CronTriggerTimetable, EmptyOperator, Param

with DAG("shaped", schedule=None, start_date=datetime(2026, 1, 1), params={
    "size": Param(5, type="integer", minimum=1, maximum=10),
    "env": Param("dev", enum=["dev", "prod"]),
    "day": Param("2026-01-01", type="string", format="date"),
    "code": Param("ab", type="string", minLength=2, pattern="^[a-z]+$"),
    "tags": Param([], type="array", items={"type": "string"}),
}) as shaped:
    EmptyOperator(task_id="a")

with DAG("weekdays", start_date=datetime(2026, 1, 1),
         schedule=CronTriggerTimetable("30 6 * * 1-5", timezone="Europe/Berlin")) as weekdays:
    EmptyOperator(task_id="a")
"""


@pytest.fixture
def cli_dags(dags_folder: Path) -> None:
    (dags_folder / "shapes.py").write_text(DAGS)


def test_trigger_reports_every_broken_keyword_at_once(cli_env: sessionmaker[Session]) -> None:
    conf = {"size": 50, "env": "qa", "day": "2026-02-30", "code": "A", "tags": ["x", 3]}
    result = invoke(trigger_command, ["shaped", "--conf", json.dumps(conf)])
    assert result.exit_code != 0
    for problem in (
        "conf.size: must be at most 10",
        "conf.env: must be one of ['dev', 'prod']",
        "conf.day: must be a valid date, got '2026-02-30'",
        "conf.code: must be at least 2 characters long",
        "conf.code: must match the pattern '^[a-z]+$'",
        "conf.tags: item [1] must be of type string, got int",
    ):
        assert problem in result.output
    assert runs(cli_env, "shaped") == []
    good = invoke(trigger_command, ["shaped", "--conf", '{"size": 10, "tags": ["x"]}'])
    assert good.exit_code == 0, good.output


def test_show_describes_the_schedule_and_its_next_runs(cli_env: sessionmaker[Session]) -> None:
    result = invoke(show, ["weekdays"])
    assert result.exit_code == 0, result.output
    assert "At 06:30, Monday through Friday (Europe/Berlin)" in result.output
    assert "Next 5 runs:" in result.output
    shown = json.loads(invoke(show, ["weekdays", "-o", "json"]).output)
    assert shown["dag"]["schedule_description"] == (
        "At 06:30, Monday through Friday (Europe/Berlin)"
    )
    upcoming = [datetime.fromisoformat(r["run_after"]) for r in shown["next_runs"]]
    assert len(upcoming) == 5
    assert upcoming == sorted(upcoming)
    # without catchup the latest tick that has passed runs at once, then the coming ones
    assert upcoming[1] > datetime.now(UTC)
    for moment in upcoming:
        local = moment.astimezone(ZoneInfo("Europe/Berlin"))
        assert (local.hour, local.minute) == (6, 30)
        assert local.weekday() < 5
