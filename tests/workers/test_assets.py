"""A task's success writes its outlets' events in the finish's transaction and queues the
DAGs scheduled on them; ``inlet_events`` reads them back (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.execution import secrets
from engine.models import AssetDagRunQueue, AssetEvent, AssetModel
from engine.models.crypto import Crypter
from engine.state import TaskInstanceState
from tests.workers.conftest import (
    Sessions,
    attempts,
    create_run,
    holding,
    run_first_try,
    xcoms,
)
from workers import RunnerContext


@pytest.fixture
def dags_folder(dags_folder: Path, sessions: Sessions) -> Iterator[Path]:
    secrets.configure(secrets.SecretsStore(sessions, Crypter([])))
    yield holding(dags_folder, sessions, "assets.py")
    secrets.configure(None)


TI = TaskInstanceState


def run(sessions: Sessions, ctx: RunnerContext, run_pk: int, task_id: str) -> TI | None:
    return run_first_try(sessions, ctx, task_id, run_pk)[0]


def events(sessions: Sessions) -> list[tuple[str, dict[str, object], str | None, str | None]]:
    with sessions() as session:
        rows = session.execute(
            sa.select(AssetModel.uri, AssetEvent.extra, AssetEvent.source_task_id,
                      AssetEvent.source_alias_name)
            .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
            .order_by(AssetEvent.id)
        )  # fmt: skip
        return [tuple(row) for row in rows]


def queued(sessions: Sessions) -> set[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(
            sa.select(AssetModel.uri, AssetDagRunQueue.target_dag_id).join(
                AssetDagRunQueue, AssetDagRunQueue.asset_id == AssetModel.id
            )
        )
        return {(uri, dag_id) for uri, dag_id in rows}


def test_a_success_writes_an_event_per_outlet_with_its_extra(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    pk = create_run(sessions, dag_id="assets")
    assert run(sessions, ctx, pk, "make") is TI.SUCCESS
    assert events(sessions) == [("s3://bucket/raw", {"rows": 3}, "make", None)]
    assert queued(sessions) == {("s3://bucket/raw", "raw_consumer")}


def test_a_failure_writes_no_event(sessions: Sessions, ctx: RunnerContext) -> None:
    pk = create_run(sessions, dag_id="assets")
    assert run(sessions, ctx, pk, "fail") is TI.FAILED
    assert events(sessions) == []
    assert queued(sessions) == set()


def test_an_extra_that_is_not_json_fails_the_try_and_writes_nothing(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    pk = create_run(sessions, dag_id="assets")
    state, ti_id = run_first_try(sessions, ctx, "bad_extra", pk)
    assert state is TI.FAILED
    assert events(sessions) == []
    [attempt] = attempts(sessions, ti_id)
    assert "outlet_events[Asset('s3://bucket/broken')].extra is not JSON" in (
        attempt.error_message or ""
    )


def test_an_empty_operator_with_outlets_runs_and_writes_its_event(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    pk = create_run(sessions, dag_id="assets")
    assert run(sessions, ctx, pk, "empty_producer") is TI.SUCCESS
    assert events(sessions) == [("s3://bucket/broken", {}, "empty_producer", None)]


def test_events_through_an_alias_queue_the_alias_consumers(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    pk = create_run(sessions, dag_id="assets")
    assert run(sessions, ctx, pk, "through_alias") is TI.SUCCESS
    day = "s3://bucket/day/2026-01-05"
    assert events(sessions) == [(day, {"day": "2026-01-05"}, "through_alias", "dynamic")]
    assert queued(sessions) == {(day, "alias_consumer")}


def test_inlet_events_lists_the_events_newest_last(sessions: Sessions, ctx: RunnerContext) -> None:
    first = create_run(sessions, dag_id="assets", run_id="manual__1")
    assert run(sessions, ctx, first, "make") is TI.SUCCESS
    assert run(sessions, ctx, first, "through_alias") is TI.SUCCESS
    second = create_run(sessions, dag_id="assets", run_id="manual__2")
    assert run(sessions, ctx, second, "make") is TI.SUCCESS
    assert run(sessions, ctx, second, "read") is TI.SUCCESS
    assert xcoms(sessions, "read")["return_value"] == {
        "count": 2,
        "latest": {"rows": 3},
        "source": "make",
        "aliased": ["s3://bucket/day/2026-01-05"],
    }
