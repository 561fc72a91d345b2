"""How settings choose an executor, and the queue names it uses."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine.executors
from engine.config import load_settings
from engine.executors import LocalExecutor, RQExecutor, TaskJob, build_executor, worker_executor
from tests.support.services import redis_url


def test_queue_names_are_loom_dot_priority_class() -> None:
    assert engine.executors.QUEUE_NAMES == ("loom.high", "loom.default", "loom.low")


def test_a_job_goes_to_the_queue_of_its_class_unless_given_one() -> None:
    assert TaskJob(1, 1, "d", "r", "t", "low").queue == "loom.low"
    assert TaskJob(1, 1, "d", "r", "t", "low", queue="loom.high").queue == "loom.high"
    with pytest.raises(ValueError, match="queue must be one of"):
        TaskJob(1, 1, "d", "r", "t", "low", queue="default")


def test_build_executor_follows_executor_kind(tmp_path: Path) -> None:
    local = load_settings({"LOOM_HOME": str(tmp_path), "LOOM__EXECUTOR__CONCURRENCY": "3"})
    assert isinstance(build_executor(local), LocalExecutor)
    rq = load_settings(
        {
            "LOOM_HOME": str(tmp_path),
            "LOOM__EXECUTOR__KIND": "rq",
            "LOOM__REDIS__URL": redis_url(15),
        }
    )
    executor = build_executor(rq, runner="tests.engine.executors.jobs.record_in_redis")
    assert isinstance(executor, RQExecutor)
    assert isinstance(worker_executor(rq), RQExecutor)  # outside a local pool process
