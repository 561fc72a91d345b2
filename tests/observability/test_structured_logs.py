"""``logging.format: json``: every process logs JSON lines; a try's lines carry its ids."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest

from engine.runtime.processlog import JsonLineFormatter, TryIdsFilter, try_ids
from tests.observability.conftest import Deployment


def _formatted(record: logging.LogRecord) -> dict[str, Any]:
    TryIdsFilter().filter(record)
    parsed: dict[str, Any] = json.loads(JsonLineFormatter().format(record))
    return parsed


def _record(message: str, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("loom.test", logging.INFO, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_record_inside_a_try_carries_its_ids() -> None:
    with try_ids(dag_id="etl", run_id="manual__1", task_id="load", try_number=2):
        line = _formatted(_record("loading"))
    assert line["message"] == "loading"
    assert line["level"] == "INFO"
    assert line["logger"] == "loom.test"
    assert (line["dag_id"], line["run_id"], line["task_id"], line["try_number"]) == (
        "etl",
        "manual__1",
        "load",
        2,
    )


def test_a_record_outside_a_try_has_no_ids_and_its_own_win() -> None:
    assert "dag_id" not in _formatted(_record("idle"))
    with try_ids(dag_id="etl", run_id="r", task_id="t", try_number=1):
        assert _formatted(_record("other", dag_id="named"))["dag_id"] == "named"


def test_an_exception_is_part_of_the_line() -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    line = _formatted(record)
    assert "ValueError: bad value" in line["exception"]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_the_workers_json_lines_name_the_try(deployment: Deployment, finished_run: str) -> None:
    lines = [
        json.loads(line)
        for line in (deployment.logs / "worker.err").read_text().splitlines()
        if line.startswith("{")
    ]
    assert lines, "the worker logged no JSON line"
    about_broken = [line for line in lines if line.get("task_id") == "broken"]
    assert about_broken, "no line of the worker names the failing try"
    assert {line["run_id"] for line in about_broken} == {finished_run}
    assert {line["try_number"] for line in about_broken} == {1}
    assert all(line["dag_id"] == "measured" for line in about_broken)
    scheduler = (deployment.logs / "scheduler.err").read_text().splitlines()
    assert scheduler, "the scheduler logged nothing"
    assert all(json.loads(line)["level"] for line in scheduler if line.strip())
