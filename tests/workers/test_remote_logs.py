"""Finished tries' logs in an S3-compatible store: moto in server mode on 127.0.0.1.

moto and boto3 are dev requirements: without them these tests error (never skip).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime

import pytest

from engine.execution.remotelogs import RemoteLogs, S3LogStore, split_url
from engine.models import TaskInstance
from engine.services.taskinstances import LogChunk, log_chunk
from engine.state import TaskInstanceState
from tests.support.aws import LOG_BUCKET
from tests.support.network import free_port
from tests.workers.conftest import Sessions, attempts, queued
from workers import RunnerContext, run_task

TI = TaskInstanceState
BASE = f"s3://{LOG_BUCKET}/prod"
TAIL_BYTES = 1000


@pytest.fixture
def ctx(ctx: RunnerContext) -> RunnerContext:
    """The runner's clock pinned: two runs of the same task write the same stamped log."""
    return dataclasses.replace(ctx, clock=lambda: datetime(2026, 2, 1, 12, tzinfo=UTC))


def dead_store() -> S3LogStore:
    """A store whose endpoint nobody listens on."""
    return S3LogStore(endpoint_url=f"http://127.0.0.1:{free_port()}")


def with_remote(ctx: RunnerContext, store: S3LogStore) -> RunnerContext:
    return dataclasses.replace(ctx, remote_logs=RemoteLogs(BASE, TAIL_BYTES, store))


def read(sessions: Sessions, ti_id: int, remote: S3LogStore | None, offset: int = 0) -> LogChunk:
    with sessions() as session:
        ti = session.get_one(TaskInstance, ti_id)
        return log_chunk(session=session, ti=ti, try_number=1, offset=offset, remote=remote)


def whole_log_without_remote(sessions: Sessions, ctx: RunnerContext) -> tuple[str, int]:
    """The chatty task's log as the database keeps it with remote logging off."""
    ti_id, try_number = queued(sessions, "chatty", run_id="manual__plain")
    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS
    [attempt] = attempts(sessions, ti_id)
    assert attempt.log is not None
    assert attempt.log_remote_url is None
    return attempt.log, attempt.log_start


def test_a_finished_try_s_log_goes_to_the_store_and_the_database_keeps_its_tail(
    sessions: Sessions, ctx: RunnerContext, s3: S3LogStore
) -> None:
    whole, whole_start = whole_log_without_remote(sessions, ctx)
    ti_id, try_number = queued(sessions, "chatty")

    assert run_task(ti_id, try_number, ctx=with_remote(ctx, s3)) is TI.SUCCESS

    [attempt] = attempts(sessions, ti_id)
    url = f"{BASE}/work/manual__1/chatty/-1/try_1.log"
    assert attempt.log_remote_url == url
    assert s3.get(url) == whole  # the whole kept log (core.max_log_bytes), in the store
    assert attempt.log is not None
    assert len(attempt.log.encode()) <= TAIL_BYTES
    assert whole.endswith(attempt.log)
    assert attempt.log_remote_start == whole_start
    assert attempt.log_start == whole_start + len(whole) - len(attempt.log)
    # Readers get the whole log from the store, with offsets that stay those of the output.
    chunk = read(sessions, ti_id, s3)
    assert (chunk.content, chunk.offset, chunk.note) == (whole, whole_start, None)
    assert chunk.next_offset == whole_start + len(whole)
    # Following from inside the tail needs no store at all.
    later = read(sessions, ti_id, None, offset=attempt.log_start + 10)
    assert later.content == attempt.log[10:]
    assert later.note is None


def test_an_upload_failure_keeps_the_whole_log_in_the_database(
    sessions: Sessions, ctx: RunnerContext, caplog: pytest.LogCaptureFixture
) -> None:
    whole, whole_start = whole_log_without_remote(sessions, ctx)
    ti_id, try_number = queued(sessions, "chatty")

    with caplog.at_level(logging.WARNING, logger="workers.remotelog"):
        state = run_task(ti_id, try_number, ctx=with_remote(ctx, dead_store()))

    assert state is TI.SUCCESS  # the outcome does not depend on the store
    [attempt] = attempts(sessions, ti_id)
    assert (attempt.log, attempt.log_start, attempt.log_remote_url) == (whole, whole_start, None)
    [warning] = [r for r in caplog.records if r.name == "workers.remotelog"]
    assert warning.levelno == logging.WARNING
    assert "uploading its log to s3://loom-logs/prod/work/manual__1/chatty" in warning.message
    assert "the database keeps the whole log" in warning.message


def test_a_failed_try_s_log_is_uploaded_too(
    sessions: Sessions, ctx: RunnerContext, s3: S3LogStore
) -> None:
    ti_id, try_number = queued(sessions, "final")

    assert run_task(ti_id, try_number, ctx=with_remote(ctx, s3)) is TI.FAILED

    [attempt] = attempts(sessions, ti_id)
    assert attempt.log_remote_url is not None
    assert "Traceback" in s3.get(attempt.log_remote_url)


def test_reading_with_the_store_down_gives_the_tail_and_a_note(
    sessions: Sessions, ctx: RunnerContext, s3: S3LogStore
) -> None:
    ti_id, try_number = queued(sessions, "chatty")
    assert run_task(ti_id, try_number, ctx=with_remote(ctx, s3)) is TI.SUCCESS
    [attempt] = attempts(sessions, ti_id)

    for remote, why in ((dead_store(), "could not be read"), (None, "no logging.remote_base")):
        chunk = read(sessions, ti_id, remote)
        assert chunk.content == attempt.log
        assert chunk.offset == attempt.log_start
        assert chunk.note is not None
        assert attempt.log_remote_url is not None
        assert attempt.log_remote_url in chunk.note
        assert why in chunk.note
        assert "showing the last" in chunk.note


def test_a_rescheduled_or_deferred_try_keeps_its_log_in_the_database() -> None:
    from workers.remotelog import OFFLOADED

    assert TI.UP_FOR_RESCHEDULE not in OFFLOADED
    assert TI.DEFERRED not in OFFLOADED


def test_split_url() -> None:
    assert split_url("s3://bucket/a/b/try_1.log") == ("bucket", "a/b/try_1.log")
