"""Finished tries' logs in an S3-compatible store: moto in server mode on 127.0.0.1.

moto and boto3 are dev requirements: without them these tests error (never skip).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.execution.remotelogs import RemoteLogs, S3LogStore, split_url
from engine.models import TaskAttempt, TaskInstance
from engine.services.taskinstances import LogChunk, log_chunk
from engine.state import TaskInstanceState
from tests.support.aws import LOG_BUCKET
from tests.support.network import free_port
from tests.workers.conftest import Sessions, attempts, queued
from workers import RunnerContext, run_task

TI = TaskInstanceState
BASE = f"s3://{LOG_BUCKET}/prod"
TAIL_BYTES = 1000
FIRST_LINE = "2026-02-01 12:00:00,000 line 00000 of chatter\n"
"""The chatty task's first line: its 5,000 lines pass the worker's core.max_log_bytes."""


@pytest.fixture
def ctx(ctx: RunnerContext) -> RunnerContext:
    """The runner's clock pinned: two runs of the same task write the same stamped log."""
    return dataclasses.replace(ctx, clock=lambda: datetime(2026, 2, 1, 12, tzinfo=UTC))


@pytest.fixture
def tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The worker's temporary directory (``TMPDIR``), where it spools logs to upload."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def spooled(folder: Path) -> list[Path]:
    return sorted(folder.glob("loom-log-*"))


def dead_store() -> S3LogStore:
    """A store whose endpoint nobody listens on."""
    return S3LogStore(endpoint_url=f"http://127.0.0.1:{free_port()}")


def with_remote(ctx: RunnerContext, store: S3LogStore, **options: object) -> RunnerContext:
    remote = RemoteLogs(BASE, TAIL_BYTES, store, **options)  # type: ignore[arg-type]
    return dataclasses.replace(ctx, remote_logs=remote)


def read(sessions: Sessions, ti_id: int, remote: S3LogStore | None, offset: int = 0) -> LogChunk:
    with sessions() as session:
        ti = session.get_one(TaskInstance, ti_id)
        return log_chunk(session=session, ti=ti, try_number=1, offset=offset, remote=remote)


def finished_try(
    sessions: Sessions, ctx: RunnerContext, task_id: str, ends: TI, run_id: str = "manual__1"
) -> tuple[int, TaskAttempt]:
    """Queue ``task_id``'s first try in the run ``run_id`` and run it as a worker does with
    ``ctx``; it must end ``ends``. The task instance's id and the try's one attempt."""
    ti_id, try_number = queued(sessions, task_id, run_id=run_id)
    assert run_task(ti_id, try_number, ctx=ctx) is ends
    [attempt] = attempts(sessions, ti_id)
    return ti_id, attempt


def whole_log_without_remote(sessions: Sessions, ctx: RunnerContext) -> tuple[str, int]:
    """The chatty task's log as the database keeps it with remote logging off."""
    _, attempt = finished_try(sessions, ctx, "chatty", TI.SUCCESS, run_id="manual__plain")
    assert attempt.log is not None
    assert attempt.log_remote_url is None
    return attempt.log, attempt.log_start


def test_a_finished_try_s_log_goes_to_the_store_and_the_database_keeps_its_tail(
    sessions: Sessions, ctx: RunnerContext, s3: S3LogStore, tmp_dir: Path
) -> None:
    kept, kept_start = whole_log_without_remote(sessions, ctx)
    assert kept_start > 0  # without a store, the log's start is lost (core.max_log_bytes)
    assert spooled(tmp_dir) == []  # and nothing was spooled

    ti_id, attempt = finished_try(sessions, with_remote(ctx, s3), "chatty", TI.SUCCESS)

    url = f"{BASE}/work/manual__1/chatty/-1/try_1.log"
    assert attempt.log_remote_url == url
    whole = s3.get(url)  # every line the task printed, stamped as the capture keeps them
    assert whole.startswith(FIRST_LINE)
    assert whole.count(" of chatter\n") == 5000
    assert whole.endswith(kept)
    assert len(whole) == kept_start + len(kept)
    assert spooled(tmp_dir) == []  # the spool is gone after the upload
    assert attempt.log is not None
    assert len(attempt.log.encode()) <= TAIL_BYTES
    assert whole.endswith(attempt.log)
    assert attempt.log_remote_start == 0
    assert attempt.log_start == len(whole) - len(attempt.log)
    # Readers get the whole log from the store, with offsets that stay those of the output.
    chunk = read(sessions, ti_id, s3)
    assert (chunk.content, chunk.offset, chunk.note) == (whole, 0, None)
    assert chunk.next_offset == len(whole)
    assert not chunk.truncated
    middle = read(sessions, ti_id, s3, offset=kept_start)
    assert (middle.content, middle.offset, middle.next_offset) == (kept, kept_start, len(whole))
    # Following from inside the tail needs no store at all.
    later = read(sessions, ti_id, None, offset=attempt.log_start + 10)
    assert later.content == attempt.log[10:]
    assert later.note is None


def test_an_upload_failure_keeps_the_log_in_the_database(
    sessions: Sessions, ctx: RunnerContext, caplog: pytest.LogCaptureFixture, tmp_dir: Path
) -> None:
    whole, whole_start = whole_log_without_remote(sessions, ctx)

    with caplog.at_level(logging.WARNING, logger="workers.remotelog"):
        # The outcome does not depend on the store.
        _, attempt = finished_try(sessions, with_remote(ctx, dead_store()), "chatty", TI.SUCCESS)

    assert (attempt.log, attempt.log_start, attempt.log_remote_url) == (whole, whole_start, None)
    [warning] = [r for r in caplog.records if r.name == "workers.remotelog"]
    assert warning.levelno == logging.WARNING
    assert "uploading its log to s3://loom-logs/prod/work/manual__1/chatty" in warning.message
    assert "the database keeps its last core.max_log_bytes" in warning.message
    assert spooled(tmp_dir) == []  # the spool is gone after a failed upload too


def test_a_short_log_s_upload_failure_keeps_the_whole_log(
    sessions: Sessions, ctx: RunnerContext, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="workers.remotelog"):
        _, attempt = finished_try(sessions, with_remote(ctx, dead_store()), "final", TI.FAILED)

    assert (attempt.log_start, attempt.log_truncated, attempt.log_remote_url) == (0, False, None)
    [warning] = [r for r in caplog.records if r.name == "workers.remotelog"]
    assert "the database keeps the whole log" in warning.message


def test_past_remote_max_bytes_the_store_keeps_the_head_and_the_database_the_tail(
    sessions: Sessions,
    ctx: RunnerContext,
    s3: S3LogStore,
    tmp_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kept, kept_start = whole_log_without_remote(sessions, ctx)
    capped = with_remote(ctx, s3, max_bytes=20_000)

    with caplog.at_level(logging.WARNING, logger="workers.remotelog"):
        ti_id, attempt = finished_try(sessions, capped, "chatty", TI.SUCCESS)

    assert attempt.log_remote_url is not None
    head = s3.get(attempt.log_remote_url)
    assert head.startswith(FIRST_LINE)
    assert head.endswith(" of chatter\n")  # cut at a line's end
    assert 19_000 < len(head.encode()) <= 20_000
    # The database keeps all the capture kept (not only logging.remote_tail_bytes).
    assert (attempt.log, attempt.log_start, attempt.log_remote_start) == (kept, kept_start, 0)
    assert spooled(tmp_dir) == []
    [warning] = [r for r in caplog.records if r.name == "workers.remotelog"]
    assert "passed logging.remote_max_bytes (20000)" in warning.message
    assert f"the {kept_start - len(head)} between are not kept" in warning.message
    # From the start: the head, then the tail, a note saying what is missing where.
    chunk = read(sessions, ti_id, s3)
    assert (chunk.content, chunk.offset) == (head + kept, 0)
    assert chunk.next_offset == kept_start + len(kept)
    assert chunk.truncated
    assert chunk.note is not None
    assert f"characters {len(head)} to {kept_start} of it were not kept" in chunk.note
    # From inside the head: its rest and the tail; from the missing part: the tail.
    inside = read(sessions, ti_id, s3, offset=10)
    assert (inside.content, inside.offset) == ((head + kept)[10:], 10)
    after = read(sessions, ti_id, s3, offset=len(head) + 5)
    assert (after.content, after.offset, after.note) == (kept, kept_start, None)
    assert after.next_offset == chunk.next_offset


def test_a_head_that_reaches_the_kept_tail_makes_the_whole_log(
    sessions: Sessions, ctx: RunnerContext, s3: S3LogStore
) -> None:
    kept, kept_start = whole_log_without_remote(sessions, ctx)
    bound = len((FIRST_LINE * 5000).encode()) - 1000  # past where the kept tail starts
    capped = with_remote(ctx, s3, max_bytes=bound)

    ti_id, attempt = finished_try(sessions, capped, "chatty", TI.SUCCESS)

    assert attempt.log_remote_url is not None
    whole = s3.get(attempt.log_remote_url)
    assert whole.startswith(FIRST_LINE)
    assert whole.count(" of chatter\n") == 5000
    assert len(whole) == kept_start + len(kept)
    assert attempt.log is not None
    assert len(attempt.log.encode()) <= TAIL_BYTES
    assert read(sessions, ti_id, s3).content == whole


def test_without_a_spool_the_kept_log_is_uploaded(
    sessions: Sessions, ctx: RunnerContext, s3: S3LogStore, tmp_path: Path
) -> None:
    kept, kept_start = whole_log_without_remote(sessions, ctx)
    unspooled = with_remote(ctx, s3, spool_dir=tmp_path / "no-such-folder")

    _, attempt = finished_try(sessions, unspooled, "chatty", TI.SUCCESS)

    assert attempt.log_remote_url is not None
    assert s3.get(attempt.log_remote_url) == kept
    assert attempt.log_remote_start == kept_start


def test_a_failed_try_s_log_is_uploaded_too(
    sessions: Sessions, ctx: RunnerContext, s3: S3LogStore
) -> None:
    _, attempt = finished_try(sessions, with_remote(ctx, s3), "final", TI.FAILED)

    assert attempt.log_remote_url is not None
    assert "Traceback" in s3.get(attempt.log_remote_url)


def test_reading_with_the_store_down_gives_the_tail_and_a_note(
    sessions: Sessions, ctx: RunnerContext, s3: S3LogStore
) -> None:
    ti_id, attempt = finished_try(sessions, with_remote(ctx, s3), "chatty", TI.SUCCESS)

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


def test_without_a_remote_store_nothing_is_spooled(
    sessions: Sessions, ctx: RunnerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_spool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a log spool without a remote store")

    monkeypatch.setattr("workers.runner.LogSpool", no_spool)

    kept, kept_start = whole_log_without_remote(sessions, ctx)

    assert kept_start > 0  # cut as before: the tail of core.max_log_bytes
    assert len(kept.encode()) <= ctx.settings.max_log_bytes
