"""Parsing DAG files in child processes: one fresh process per file, with a timeout.

Children are forked by the process's multiprocessing *forkserver*, which has Loom preloaded, so a
child costs a fork, not an interpreter start. Up to ``parallelism`` run at once. Each
failure of a file (an exception, a hang, ``sys.exit``, a crash, a DAG that fails
validation) becomes an :class:`ImportErrorInfo` of that file only: the parent never runs
user code, and never holds more of a child's output than a few kilobytes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, ForkServerProcess
from pathlib import Path
from typing import Any

from engine.parser.discovery import file_hash
from engine.parser.options import ParseOptions
from engine.runtime import forkserver

logger = logging.getLogger(__name__)

_PARSER_FRAME = re.compile(
    r'File "(<string>|[^"]*/multiprocessing/[^"]*|'
    + re.escape(str(Path(__file__).resolve().parent))
    + r'/[^"]*)", line'
)
"""A stack dump's frames of the parser's own machinery, which say nothing about the file."""

PRELOAD_MODULES = forkserver.DAG_CODE_MODULES
"""Imported once by the forkserver (shared with the local executor's pool: see
:mod:`engine.runtime.forkserver`), so that every child starts with them loaded."""

MAX_RESULT_BYTES = 64 * 1024 * 1024
"""Largest result document a child may send; a larger one is an import error."""

OUTPUT_TAIL_BYTES = 4096
"""How much of a failed child's last output goes into its import error's traceback."""

STACK_DUMP_WAIT_SECONDS = 1.0
"""How long a child that timed out may take to write its stack before it is killed."""

EXIT_GRACE_SECONDS = 5.0
"""How long a child that sent its result may take to exit before it is killed."""


@dataclass(frozen=True)
class ImportErrorInfo:
    """Why (part of) a DAG file could not be loaded; every line names its file."""

    message: str
    traceback: str | None = None


@dataclass(frozen=True)
class FileParseResult:
    """What parsing one file produced."""

    path: Path
    file_hash: str
    dags: list[dict[str, Any]]
    """Serialized valid DAGs (see :func:`engine.authoring.serialization.serialize_dag`)."""
    errors: list[ImportErrorInfo]
    duration: float
    """Seconds from the child's start to its result."""
    imported: bool = True
    """False when the file itself failed (exception, hang, crash): no DAG of it is known."""
    invalid_dag_ids: list[str] = field(default_factory=list)
    """DAGs the file defines that failed validation (described in ``errors``)."""

    @property
    def dag_ids(self) -> list[str]:
        return [str(data["dag_id"]) for data in self.dags]


def parse_file(path: Path, options: ParseOptions) -> FileParseResult:
    """Parse one DAG file in a child process."""
    return parse_files([path], options)[0]


def parse_files(paths: Sequence[Path], options: ParseOptions) -> list[FileParseResult]:
    """Parse ``paths``, up to ``options.parallelism`` at once; results in the order of
    ``paths``."""
    started = time.monotonic()
    results: dict[int, FileParseResult] = {}
    with tempfile.TemporaryDirectory(prefix="loom-parse-") as scratch:
        launcher = _Launcher(_forkserver_context(), options, Path(scratch))
        pending = deque(enumerate(paths))
        running: list[_Child] = []
        try:
            while pending or running:
                while pending and len(running) < max(1, options.parallelism):
                    index, path = pending.popleft()
                    started_child = launcher.start(index, path)
                    if isinstance(started_child, FileParseResult):
                        results[index] = started_child
                    else:
                        running.append(started_child)
                _wait_for_any(running)
                for child in list(running):
                    result = child.collect()
                    if result is not None:
                        results[child.index] = result
                        running.remove(child)
        finally:  # interrupted: no child outlives the call
            for child in running:
                child.abandon()
    logger.debug("parsed %s files in %.2fs", len(paths), time.monotonic() - started)
    return [results[index] for index in range(len(paths))]


def _forkserver_context() -> ForkServerContext:
    return forkserver.context()


def _wait_for_any(running: list[_Child]) -> None:
    """Block until a child sends, exits, or reaches its deadline."""
    if not running:
        return
    handles: list[Any] = [child.conn for child in running]
    handles += [child.process.sentinel for child in running]
    next_deadline = min(child.deadline for child in running)
    wait(handles, timeout=max(0.0, next_deadline - time.monotonic()))


def _parse_in_child(*args: Any) -> None:
    """The children's target, named here so that the parent never imports the child's
    module: it loads the authoring API and its validation (networkx, ~11 MB), which the
    forkserver has preloaded and the scheduler's own process never needs."""
    from engine.parser.child import parse_in_child

    parse_in_child(*args)


@dataclass(frozen=True)
class _Launcher:
    """Starts one child per file, all with the same options."""

    context: ForkServerContext
    options: ParseOptions
    scratch: Path

    def start(self, index: int, path: Path) -> _Child | FileParseResult:
        try:
            digest = file_hash(path)
        except OSError as exc:  # deleted or unreadable since discovery
            error = ImportErrorInfo(f"{path}: cannot read the file: {exc.strerror or exc}")
            return FileParseResult(path, "", [], [error], 0.0, imported=False)
        output = self.scratch / f"{index}.out"
        receiver, sender = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=_parse_in_child,
            args=(sender, str(path), str(output), self.options, dict(os.environ)),
            name=f"loom-parse-{path.name}",
            daemon=True,
        )
        started = time.monotonic()
        process.start()
        # Only the child may hold the sending end: its exit must read as end-of-file.
        sender.close()
        timeout = self.options.timeout
        return _Child(
            index, path, digest, process, receiver, output, started, started + timeout, timeout
        )


@dataclass
class _Child:
    """One running child and what is needed to turn its end into a result."""

    index: int
    path: Path
    file_hash: str
    process: ForkServerProcess
    conn: Connection
    output: Path
    started: float
    deadline: float
    timeout: float

    def collect(self) -> FileParseResult | None:
        """The result once the child has sent, exited or timed out; else None."""
        exited = not self.process.is_alive()  # checked first: a result may arrive meanwhile
        if self.conn.poll():
            return self._finish(self._receive())
        if exited:
            return self._finish(None)
        if time.monotonic() >= self.deadline:
            self._dump_stack()
            self._kill()
            return self._failed(self._timeout_message())
        return None

    def abandon(self) -> None:
        """Kill the child without a result."""
        self._kill()
        self._release()

    def _receive(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.conn.recv_bytes(maxlength=MAX_RESULT_BYTES))  # type: ignore[no-any-return]
        except EOFError:  # exited without sending
            return None
        except OSError as exc:  # longer than MAX_RESULT_BYTES, or cut short
            self._kill()
            return {"unreadable": str(exc)}

    def _finish(self, document: dict[str, Any] | None) -> FileParseResult:
        self.process.join(EXIT_GRACE_SECONDS)
        if self.process.is_alive():
            self._kill()
        if document is None:
            return self._failed(self._exit_message())
        if "unreadable" in document:
            return self._failed(
                f"{self.path}: the parse result could not be received ({document['unreadable']});"
                f" at most {MAX_RESULT_BYTES} bytes are accepted"
            )
        return self._result(
            dags=document["dags"],
            errors=[ImportErrorInfo(e["message"], e["traceback"]) for e in document["errors"]],
            imported=document["imported"],
            invalid_dag_ids=document["invalid_dag_ids"],
        )

    def _failed(self, message: str) -> FileParseResult:
        return self._result(
            dags=[], errors=[ImportErrorInfo(message, self._output_tail())], imported=False
        )

    def _result(self, **fields: Any) -> FileParseResult:
        self._release()
        duration = time.monotonic() - self.started
        return FileParseResult(self.path, self.file_hash, duration=duration, **fields)

    def _dump_stack(self) -> None:
        """Ask a hanging child for its stack, and give it a moment to write it."""
        pid = self.process.pid
        if pid is None:
            return
        from engine.parser.child import DUMP_SIGNAL

        size = self._output_size()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, DUMP_SIGNAL)
        waited = 0.0
        while waited < STACK_DUMP_WAIT_SECONDS and self._output_size() == size:
            time.sleep(0.02)
            waited += 0.02
        time.sleep(0.05)  # the dump is written in pieces; let it finish

    def _output_size(self) -> int:
        try:
            return self.output.stat().st_size
        except OSError:
            return 0

    def _kill(self) -> None:
        pid = self.process.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # the child and whatever it started
        self.process.kill()
        self.process.join()

    def _release(self) -> None:
        self.conn.close()
        if self.process.exitcode is not None:
            self.process.close()
        self.output.unlink(missing_ok=True)

    def _timeout_message(self) -> str:
        return (
            f"{self.path}: timed out after {self.timeout:g} s while being imported"
            " (core.parse_timeout); the process was killed"
        )

    def _exit_message(self) -> str:
        code = self.process.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            reason = signal.strsignal(-code) or name
            return (
                f"{self.path}: the parser process died of signal {name} ({reason})"
                " while importing it"
            )
        return f"{self.path}: the parser process exited with code {code} while importing it"

    def _output_tail(self) -> str | None:
        """The end of what the child printed (e.g. a stack dump), for the traceback."""
        try:
            with self.output.open("rb") as handle:
                handle.seek(max(0, handle.seek(0, os.SEEK_END) - 4 * OUTPUT_TAIL_BYTES))
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return None
        lines = [line for line in text.splitlines() if not _PARSER_FRAME.search(line)]
        tail = "\n".join(lines).strip()[-OUTPUT_TAIL_BYTES:]
        return f"Last output of the file:\n{tail}" if tail else None
