"""Parsing DAG files without waiting for them: children that outlive the call.

:class:`ParsePool` is a :class:`engine.parser.sync.FileParser` that never blocks on a
child. Asked for files, it hands back the results that are ready, starts children for
the others (one fresh child per file, as :func:`engine.parser.processor.parse_files`
does, with the same timeout and error reporting) and returns at once; the results of the
files still being parsed come with a later call. So a file that hangs at import delays
only itself: every other file goes on being parsed and stored (see
:class:`engine.parser.loop.ParseLoop`).

A result belongs to the content the file had when its child started: when the file has
changed since (size or modification time), the result is dropped and the file parsed
again, so an edit made while the file was being parsed is never lost.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from engine.parser.dagbag import FileStat
from engine.parser.options import ParseOptions
from engine.parser.processor import FileParseResult, _Child, _forkserver_context, _Launcher

logger = logging.getLogger(__name__)

SLOW_FILE_SECONDS = 2.0
"""A child parsing for longer than this no longer holds one of the ``core.parse_parallelism``
slots: a file that hangs at import must not keep the other files waiting for its timeout."""


@dataclass
class _Flight:
    """A child, and the file's size and mtime when it started."""

    child: _Child
    stat: FileStat | None


@dataclass
class _Landed:
    result: FileParseResult
    stat: FileStat | None


class ParsePool:
    """Children parsing DAG files across calls; see the module docstring."""

    def __init__(self) -> None:
        self._scratch: Path | None = None
        """Where children write their output; made at the first call, removed by close."""
        self._flights: dict[str, _Flight] = {}
        self._landed: dict[str, _Landed] = {}
        self._launched = 0

    def __call__(self, paths: Sequence[Path], options: ParseOptions) -> list[FileParseResult]:
        """The ready results of ``paths``; the others are started (as slots allow) or
        left running, and come with a later call."""
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="loom-parse-"))
        launcher = _Launcher(_forkserver_context(), options, self._scratch)
        self.collect()
        results = []
        for path in paths:
            result = self._take_or_start(path, launcher, options.parallelism)
            if result is not None:
                results.append(result)
        return results

    @property
    def in_flight(self) -> list[str]:
        """The files being parsed now."""
        return sorted(self._flights)

    def collect(self) -> None:
        """Turn the children that sent, exited or timed out into results (never waits
        for a child, but gives one that timed out a moment to write its stack)."""
        for key, flight in list(self._flights.items()):
            result = flight.child.collect()
            if result is not None:
                del self._flights[key]
                if Path(key).exists():  # else no refresh will ask for it
                    self._landed[key] = _Landed(result, flight.stat)

    def wait(self, timeout: float) -> None:
        """Block until a child sends, exits, reaches its deadline or gives up its slot,
        or ``timeout`` seconds pass."""
        if not self._flights:
            time.sleep(timeout)
            return
        now = time.monotonic()
        children = [flight.child for flight in self._flights.values()]
        moments = [now + timeout, *(child.deadline for child in children)]
        moments += [c.started + SLOW_FILE_SECONDS for c in children if self._holds_slot(c, now)]
        handles: list[Any] = [child.conn for child in children]
        handles += [child.process.sentinel for child in children]
        wait(handles, timeout=max(0.0, min(moments) - now))

    def close(self) -> None:
        """Kill every child and remove the scratch folder."""
        for flight in self._flights.values():
            flight.child.abandon()
        self._flights.clear()
        self._landed.clear()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _take_or_start(
        self, path: Path, launcher: _Launcher, parallelism: int
    ) -> FileParseResult | None:
        key, stat = str(path), _stat(path)
        landed = self._landed.pop(key, None)
        if landed is not None and landed.stat == stat:
            return landed.result
        flight = self._flights.get(key)
        if flight is not None and flight.stat == stat:
            return None  # still parsing this very content
        if flight is not None:
            logger.info("DAG file %s changed while being parsed: parsing it again", key)
            flight.child.abandon()
            del self._flights[key]
        if self._slots_taken() >= max(1, parallelism):
            return None  # asked for again at the next refresh
        self._launched += 1
        started = launcher.start(self._launched, path)
        if isinstance(started, FileParseResult):  # unreadable: no child needed
            return started
        self._flights[key] = _Flight(started, stat)
        return None

    def _slots_taken(self) -> int:
        now = time.monotonic()
        return sum(self._holds_slot(flight.child, now) for flight in self._flights.values())

    @staticmethod
    def _holds_slot(child: _Child, now: float) -> bool:
        return now - child.started < SLOW_FILE_SECONDS


def _stat(path: Path) -> FileStat | None:
    try:
        return FileStat.of(path)
    except OSError:
        return None
