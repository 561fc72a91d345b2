"""Every line of a try's log says when it was written (UTC), printed or logged, once."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from engine.timeutil import log_time
from workers.logcapture import LogSnapshot, TailBuffer, capture_output

T1 = datetime(2026, 12, 5, 7, 42, 11, 123456, tzinfo=UTC)
T2 = T1 + timedelta(seconds=2)
S1, S2 = "2026-12-05 07:42:11,123 ", "2026-12-05 07:42:13,123 "
STAMPED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")
"""The start of every line of a task's log."""


def clock_of(*moments: datetime) -> Callable[[], datetime]:
    """A clock that tells ``moments`` in turn, then keeps telling the last one."""
    left = list(moments)
    return lambda: left.pop(0) if len(left) > 1 else left[0]


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone is not UTC (logging's default asctime would follow it)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_log_time_is_utc_in_asctime_shape() -> None:
    assert log_time(T1) == "2026-12-05 07:42:11,123"
    assert log_time(T1.astimezone(timezone(timedelta(hours=-5)))) == "2026-12-05 07:42:11,123"
    assert log_time(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02 03:04:05,000"  # naive is UTC


def test_each_printed_line_is_stamped() -> None:
    buffer = TailBuffer(1000, clock=clock_of(T1))
    with capture_output(buffer):
        print("first\nsecond")
        print()
    assert buffer.getvalue() == f"{S1}first\n{S1}second\n{S1}\n"


def test_a_partial_line_is_stamped_when_it_starts_not_when_it_ends() -> None:
    buffer = TailBuffer(1000, clock=clock_of(T1, T2, T2))
    buffer.write("progress: ")
    buffer.write("50% ")
    buffer.write("done\nnext")
    assert buffer.getvalue() == f"{S1}progress: 50% done\n{S2}next"


def test_a_logging_record_keeps_its_own_time_and_starts_its_own_line(new_york: None) -> None:
    logger = logging.getLogger("user.code")
    buffer = TailBuffer(1000, clock=clock_of(T2))
    record = logging.LogRecord("user.code", logging.WARNING, __file__, 1, "logged", None, None)
    record.created = T1.timestamp()
    with capture_output(buffer):
        print("half a line", end="")
        logger.handle(record)
        print("after")
    assert buffer.getvalue() == f"{S2}half a line\n{S1}WARNING user.code: logged\n{S2}after\n"


def test_a_live_record_is_stamped_once() -> None:
    logger = logging.getLogger("user.code")
    buffer = TailBuffer(1000)
    with capture_output(buffer):
        logger.warning("first\nsecond line of the same record")
    [line, rest] = buffer.getvalue().splitlines()
    assert re.fullmatch(STAMPED.pattern + "WARNING user.code: first", line)
    assert rest == "second line of the same record"


def test_a_write_larger_than_the_cap_keeps_a_stamped_tail() -> None:
    buffer = TailBuffer(100, clock=clock_of(T1))
    text = "".join(f"line {number:02d}\n" for number in range(50))
    buffer.write(text)
    whole = "".join(f"{S1}line {number:02d}\n" for number in range(50))
    kept = buffer.snapshot()
    assert (kept.text, kept.start, kept.truncated) == (whole[-100:], len(whole) - 100, True)
    # Only the first kept line can be the end of a cut one; every whole line is stamped.
    assert kept.text.splitlines()[1:] == [f"{S1}line {number}" for number in (47, 48, 49)]


def test_stamped_offsets_follow_the_whole_output_across_writes() -> None:
    buffer = TailBuffer(40, clock=clock_of(T1))
    whole = ""
    for number in range(10):
        buffer.write(f"n{number}")
        buffer.write("\n")
        whole += f"{S1}n{number}\n"
        kept = buffer.snapshot()
        assert whole[kept.start :] == kept.text


def test_a_resumed_log_continues_its_last_line() -> None:
    ended = TailBuffer(1000, clock=clock_of(T2))
    ended.resume(LogSnapshot(f"{S1}poked\n", start=5, truncated=True, version=0))
    ended.write("again\n")
    assert ended.snapshot() == LogSnapshot(f"{S1}poked\n{S2}again\n", 5, True, 2)
    open_line = TailBuffer(1000, clock=clock_of(T2))
    open_line.resume(LogSnapshot(f"{S1}half", start=0, truncated=False, version=0))
    open_line.write(" and the rest\n")
    assert open_line.getvalue() == f"{S1}half and the rest\n"


def test_a_process_log_line_reads_like_a_task_log_line(new_york: None) -> None:
    """The scheduler's and the workers' own logs stamp their lines in UTC too, in the same
    shape: a line of each reads side by side."""
    import logging

    from engine.logformat import UtcFormatter

    record = logging.LogRecord("engine.x", logging.INFO, __file__, 1, "hello", None, None)
    record.created = T1.timestamp()
    assert UtcFormatter().format(record) == f"{log_time(T1)} INFO engine.x: hello"


def test_a_stamped_line_splits_back_into_its_time_and_text() -> None:
    from engine.timeutil import split_log_time

    assert split_log_time(f"{S1}hello world") == (T1.replace(microsecond=123000), "hello world")
    assert split_log_time("  File 'x.py', line 1") == (None, "  File 'x.py', line 1")
    assert split_log_time("2026-13-05 07:42:11,123 no such month") == (
        None, "2026-13-05 07:42:11,123 no such month",
    )  # fmt: skip
