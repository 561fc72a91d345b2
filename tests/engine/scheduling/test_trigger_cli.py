"""``loom dags trigger``: a manual run, or a clear error and nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from engine.cli.scheduler_cmd import trigger_command
from tests.engine.scheduling.conftest import chain_dag, runs
from tests.support.cli import invoke


@pytest.fixture
def cli_dags(dags_folder: Path) -> None:
    chain_dag(dags_folder, "manual")
    chain_dag(dags_folder, "paused", is_paused_upon_creation="True")


def test_trigger_with_conf_run_id_and_delay(cli_env: sessionmaker[Session]) -> None:
    before = datetime.now(UTC)
    result = invoke(
        trigger_command, ["manual", "--conf", '{"a": 1}', "--run-id", "mine", "--delay", "1h"]
    )
    assert result.exit_code == 0, result.output
    assert "Created run mine of manual" in result.output
    (run,) = runs(cli_env, "manual")
    assert run.conf == {"a": 1}
    assert run.triggered_by == "cli"
    assert run.run_after >= before + timedelta(hours=1)


def test_trigger_at_a_time_with_a_logical_date(cli_env: sessionmaker[Session]) -> None:
    args = ["manual", "--logical-date", "2026-02-01", "--at", "2026-03-01T06:00+01:00"]
    result = invoke(trigger_command, args)
    assert result.exit_code == 0, result.output
    (run,) = runs(cli_env, "manual")
    assert run.run_id == "manual__2026-02-01T00:00:00+00:00"
    assert run.run_after == datetime(2026, 3, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no active DAG 'nope'"),
        (["manual", "--conf", "{bad"], "--conf is not valid JSON"),
        (["manual", "--conf", "[1]"], "must be a JSON object"),
        (["manual", "--delay", "soon"], "is not a duration"),
        (["manual", "--at", "tomorrow"], "--at 'tomorrow' is not an ISO date"),
        (["manual", "--at", "2026-01-01", "--delay", "5m"], "not both"),
        (["manual", "--run-id", "taken"], "already has a run 'taken'"),
    ],
)
def test_bad_input_is_an_error_and_changes_nothing(
    cli_env: sessionmaker[Session], args: list[str], message: str
) -> None:
    assert invoke(trigger_command, ["manual", "--run-id", "taken"]).exit_code == 0
    result = invoke(trigger_command, args)
    assert result.exit_code == 1
    assert message in result.output
    assert [r.run_id for r in runs(cli_env, "manual")] == ["taken"]


def test_trigger_of_a_paused_dag_creates_a_run_that_waits(cli_env: sessionmaker[Session]) -> None:
    result = invoke(trigger_command, ["paused", "--run-id", "later"])
    assert result.exit_code == 0, result.output
    assert "paused is paused: the run waits until `loom dags unpause paused`" in result.output
    assert [(r.run_id, r.state) for r in runs(cli_env, "paused")] == [("later", "queued")]
    assert "is paused" not in invoke(trigger_command, ["manual"]).output
