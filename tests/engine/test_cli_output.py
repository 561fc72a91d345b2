"""What ``loom`` prints for people: timestamps to the second, durations with units; JSON
keeps both exact for scripts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click
from click.testing import CliRunner

from engine.cli.common import emit, render_table

STARTED = datetime(2026, 3, 1, 12, 0, 5, 123456, tzinfo=UTC)


def test_tables_show_timestamps_to_the_second_and_durations_with_units() -> None:
    rows: list[dict[str, Any]] = [
        {"task_id": "a", "start_date": STARTED, "duration": 1.534},
        {"task_id": "b", "start_date": None, "duration": 123.4},
    ]
    table = render_table(rows, ["task_id", "start_date", "duration"]).splitlines()
    assert table[1].split() == ["a", "2026-03-01T12:00:05+00:00", "1.5s"]
    assert table[2].split() == ["b", "2m", "3s"]


def test_show_output_matches_the_table_and_json_stays_exact() -> None:
    @click.command()
    @click.argument("output")
    def show(output: str) -> None:
        emit({"start_date": STARTED, "duration": 3725.0}, output)

    shown = CliRunner().invoke(show, ["table"]).output.splitlines()
    assert shown == ["start_date  2026-03-01T12:00:05+00:00", "duration    1h 2m"]
    data = json.loads(CliRunner().invoke(show, ["json"]).output)
    assert data == {"start_date": "2026-03-01T12:00:05.123456+00:00", "duration": 3725.0}
