"""A running try's log is streamed into its attempt row and can be followed by offset."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.models import TaskInstance
from engine.services.taskinstances import LogChunk, log_chunk
from engine.state import TaskInstanceState
from tests.workers.conftest import Sessions, attempts, queued
from workers import RunnerContext, run_task
from workers.logcapture import LogSnapshot, TailBuffer
from workers.logstream import store_log

TI = TaskInstanceState

NOW = datetime(2026, 12, 5, 7, 42, 11, 123456, tzinfo=UTC)
"""The runner's clock in these tests: every line of the log is stamped with it."""
STAMP = "2026-12-05 07:42:11,123 "

GATED_OUTPUT = "".join(
    STAMP + line
    for line in (
        "before the gate\n",
        *(f"line {number:03d} after the gate\n" for number in range(200)),
        "done\n",
        "Task success\n",
    )
)
"""Everything the ``gated`` task of dagfiles/work.py writes, with the runner's last line."""


def read(sessions: Sessions, ti_id: int, offset: int) -> LogChunk:
    with sessions() as session:
        ti = session.get_one(TaskInstance, ti_id)
        return log_chunk(session=session, ti=ti, try_number=1, offset=offset)


def test_tail_buffer_counts_what_it_cut() -> None:
    buffer = TailBuffer(10, clock=lambda: NOW)
    buffer.write("0123456789")  # its stamp is output too, and cut like it
    buffer.write("abcd")
    buffer.write("éé")  # 4 bytes: four more characters cut
    snapshot = buffer.snapshot()
    assert snapshot.text == "89abcdéé"
    assert snapshot.start == len(STAMP) + 8
    assert snapshot.version == 3


def test_a_running_try_can_be_followed_by_offset(
    sessions: Sessions, ctx: RunnerContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = tmp_path / "gate"
    monkeypatch.setenv("LOOM_TEST_GATE", str(gate))
    settings = dataclasses.replace(
        ctx.settings, max_log_bytes=2000, log_stream_interval=timedelta(seconds=0.05)
    )
    ctx = dataclasses.replace(ctx, settings=settings, clock=lambda: NOW)
    ti_id, try_number = queued(sessions, "gated")
    runner = threading.Thread(target=run_task, args=(ti_id, try_number), kwargs={"ctx": ctx})
    runner.start()
    try:
        deadline = time.monotonic() + 30
        chunk = read(sessions, ti_id, 0)
        while "before the gate" not in chunk.content and time.monotonic() < deadline:
            time.sleep(0.05)
            chunk = read(sessions, ti_id, 0)
        # Seen while the task still waits at its gate: streamed, not written at the finish.
        assert chunk.content == f"{STAMP}before the gate\n"
        assert (chunk.state, chunk.complete) == ("running", False)
    finally:
        gate.touch()
        runner.join(timeout=30)

    offset, chunks = 0, []
    while True:
        chunk = read(sessions, ti_id, offset)
        chunks.append(chunk)
        offset = chunk.next_offset
        if chunk.complete:
            break
    # Every chunk is the piece of the whole output at its offset; what the 2000-byte cap
    # cut shows as an offset beyond the one asked for, never as shifted text.
    for piece in chunks:
        assert GATED_OUTPUT[piece.offset : piece.offset + len(piece.content)] == piece.content
    assert offset == len(GATED_OUTPUT)
    [attempt] = attempts(sessions, ti_id)
    assert attempt.log is not None
    assert attempt.log_start == len(GATED_OUTPUT) - len(attempt.log) > 0
    assert GATED_OUTPUT.endswith(attempt.log)


def test_a_finished_try_is_not_overwritten_by_a_late_copy(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id, try_number = queued(sessions, "produce")
    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS

    late = LogSnapshot("stale text", start=0, truncated=False, version=1)
    with sessions.begin() as session:
        stored = store_log(session=session, ti_id=ti_id, try_number=try_number, snapshot=late)

    assert not stored
    [attempt] = attempts(sessions, ti_id)
    assert attempt.log is not None
    assert "hello from produce" in attempt.log


def test_log_chunk_without_a_try_number_reads_the_latest_try(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id, try_number = queued(sessions, "produce")
    with sessions() as session:
        ti = session.get_one(TaskInstance, ti_id)
        with pytest.raises(Exception, match="has no log yet: no try has started"):
            log_chunk(session=session, ti=ti, try_number=None)
    assert run_task(ti_id, try_number, ctx=dataclasses.replace(ctx, clock=lambda: NOW))
    offset = len(f"{STAMP}hello ")
    with sessions() as session:
        ti = session.get_one(TaskInstance, ti_id)
        chunk = log_chunk(session=session, ti=ti, try_number=None, offset=offset)
    assert (chunk.try_number, chunk.offset, chunk.complete) == (1, offset, True)
    assert chunk.content.startswith("from produce")
