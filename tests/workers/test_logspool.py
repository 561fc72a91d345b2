"""The spool of a log to upload: every piece of text the capture keeps, as it keeps it,
up to ``logging.remote_max_bytes``; its file has no name, so nothing is left behind."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workers.logcapture import LogSnapshot, TailBuffer, capture_output
from workers.logspool import LogSpool

T1 = datetime(2026, 3, 1, 9, 30, 0, 250_000, tzinfo=UTC)
STAMP = "2026-03-01 09:30:00,250 "


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[LogSpool]:
    spool = LogSpool(10_000, directory=tmp_path)
    yield spool
    spool.close()


def spooled(spool: LogSpool) -> str:
    spool.complete("", spool.end)  # flushes
    return spool.contents().read().decode("utf-8")


def test_the_spool_gets_all_the_buffer_cuts_stamped_and_redacted_the_same(
    spool: LogSpool,
) -> None:
    buffer = TailBuffer(60, clock=lambda: T1, spool=spool)
    with capture_output(buffer):
        for n in range(20):
            print(f"line {n:02d} ünïcode")
        logging.getLogger("task").warning("a record")

    kept = buffer.snapshot()
    whole = spooled(spool)
    assert kept.truncated
    assert whole.startswith(f"{STAMP}line 00 ünïcode\n")
    assert whole.count("ünïcode\n") == 20
    assert "a record" in whole
    assert whole.endswith(kept.text)
    assert len(whole) == kept.start + len(kept.text)  # the same offsets as the buffer's


def test_a_resumed_log_starts_the_spool_where_it_started(spool: LogSpool) -> None:
    buffer = TailBuffer(1000, clock=lambda: T1, spool=spool)
    buffer.resume(LogSnapshot("end of poke 1\n", start=500, truncated=True, version=3))
    buffer.write("poke 2\n")

    assert (spool.start, spool.end) == (500, 500 + len(f"end of poke 1\n{STAMP}poke 2\n"))
    assert spooled(spool) == f"end of poke 1\n{STAMP}poke 2\n"
    with pytest.raises(ValueError, match="before anything is written"):
        spool.begin_at(0)


def test_past_max_bytes_it_keeps_its_head_to_the_last_whole_line(tmp_path: Path) -> None:
    spool = LogSpool(25, directory=tmp_path)
    for piece in ["0123456789\n", "abcdefghij\n", "klmn", "opqrstuvwxyz\n", "more\n"]:
        spool.write(piece)

    assert spool.cut
    assert (spool.size, spool.chars) == (22, 22)
    assert spooled(spool) == "0123456789\nabcdefghij\n"
    spool.close()


def test_a_head_that_reaches_the_kept_tail_is_completed_by_it(tmp_path: Path) -> None:
    spool = LogSpool(25, directory=tmp_path)
    for n in range(5):
        spool.write(f"line {n}\n")  # 7 characters each: three fit
    tail = "line 2\nline 3\nline 4\n"  # what a buffer kept, from offset 14 on

    assert spool.cut
    assert spool.complete(tail, 14)
    assert not spool.cut
    assert spool.contents().read().decode() == "".join(f"line {n}\n" for n in range(5))
    spool.close()


def test_a_head_short_of_the_kept_tail_stays_a_head(tmp_path: Path) -> None:
    spool = LogSpool(10, directory=tmp_path)
    for n in range(5):
        spool.write(f"line {n}\n")

    assert not spool.complete("line 4\n", 28)
    assert spool.cut
    assert spool.contents().read().decode() == "line 0\n"
    spool.close()


def test_the_file_lives_in_the_directory_with_no_name(tmp_path: Path) -> None:
    spool = LogSpool(100, directory=tmp_path)
    spool.write("text\n")

    where = str(Path(f"/proc/self/fd/{spool.contents().fileno()}").readlink())
    assert where.startswith(f"{tmp_path}/")  # its space is taken there...
    assert list(tmp_path.iterdir()) == []  # ...but nothing there names it
    spool.close()
    spool.close()  # twice is harmless


def test_a_worker_killed_mid_spool_leaves_no_file(tmp_path: Path) -> None:
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal, sys\n"
            "from workers.logspool import LogSpool\n"
            "spool = LogSpool(10_000, directory=sys.argv[1])\n"
            "spool.write('a line of a try that never ends\\n')\n"
            "spool.complete('', spool.end)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert child.returncode == -signal.SIGKILL, child.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_spool_that_cannot_be_written_stops_quietly(tmp_path: Path) -> None:
    spool = LogSpool(100, directory=tmp_path)
    spool._file.close()
    spool._file = open("/dev/full", "wb", buffering=0)  # noqa: SIM115 - a full disk
    buffer = TailBuffer(1000, clock=lambda: T1, spool=spool)

    buffer.write("the task goes on\n")

    assert buffer.getvalue() == f"{STAMP}the task goes on\n"
    assert spool.failed is not None
    assert not spool.complete(buffer.getvalue(), 0)
    spool.close()
    assert list(tmp_path.iterdir()) == []
