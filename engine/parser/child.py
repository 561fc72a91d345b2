"""What runs inside the child process that imports one DAG file.

The child is forked from a server that has Loom preloaded, so it starts in milliseconds.
It contains the file's output (a size-capped file instead of the terminal), imports the
file under a unique module name, validates every DAG the import constructed, and sends
one JSON document back over a pipe:

    {"imported": bool, "dags": [serialized DAG, ...], "invalid_dag_ids": [...],
     "errors": [{"message": str, "traceback": str | null}, ...]}

Anything the child cannot report (a hang, a crash, ``os._exit``) the parent notices from
the missing document and the exit code; see :mod:`engine.parser.processor`.
"""

from __future__ import annotations

import errno
import faulthandler
import hashlib
import importlib.util
import io
import json
import os
import resource
import signal
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType
from typing import Any

from engine.authoring.dag import DAG, collect_dags
from engine.authoring.schedules import cron_strings_as
from engine.authoring.serialization import serialize_dag
from engine.authoring.validation import Problem, validate_dag
from engine.parser.options import ParseOptions
from engine.plugins.loading import load_plugins

OUTPUT_LIMIT_BYTES = 16 * 1024 * 1024
"""Most output (stdout and stderr together) a DAG file may write while it is imported."""

DUMP_SIGNAL = signal.SIGUSR1
"""Sent by the parent to a child that timed out: the child writes its stack to its output
(so the import error shows where it hung) just before it is killed."""

_PARSER_DIR = str(Path(__file__).resolve().parent)
_ENGINE_DIR = str(Path(__file__).resolve().parent.parent)


def parse_in_child(
    conn: Connection,
    path: str,
    output_path: str,
    options: ParseOptions,
    environ: dict[str, str] | None = None,
) -> None:
    """The child process's target: parse ``path`` and send the result over ``conn``.

    ``environ`` is the parent's environment now: the forkserver's is the one it started
    with, and a DAG file reads the environment of the process that asked for the parse.
    """
    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
    # Its own process group, so that a timeout also kills what the file started.
    os.setpgid(0, 0)
    _contain_output(output_path)
    faulthandler.register(DUMP_SIGNAL, file=sys.stderr, all_threads=True)
    # Not written next to the user's files, and never read stale: a file rewritten
    # within the same second with the same size would otherwise reuse old bytecode.
    sys.dont_write_bytecode = True
    result = parse_dag_file(Path(path), options)
    conn.send_bytes(json.dumps(result).encode())
    conn.close()
    # Skip interpreter shutdown: threads or atexit hooks the file left must not delay us.
    os._exit(0)


def parse_dag_file(path: Path, options: ParseOptions) -> dict[str, Any]:
    """Load the plugins, import ``path``, then validate and serialize every DAG it defined.

    A broken plugin is an import error of every file: it could change what any of them
    defines, so none is trusted.
    """
    sys.path.insert(0, str(options.dags_folder))
    with collect_dags() as dags:
        try:
            load_plugins(options.plugins_folder)
            import_dag_file(path, cron_data_intervals=options.cron_data_intervals)
        except SystemExit as exc:
            return _failure(f"{path}: called sys.exit({exc.code!r}) while being imported")
        except BaseException as exc:  # noqa: BLE001 - every failure becomes an import error
            return _failure(_exception_message(exc, path), _user_traceback(exc))
    return _check_and_serialize(path, dags)


def module_name(path: Path) -> str:
    """A module name unique to ``path``, so equal file names in two folders never clash."""
    digest = hashlib.sha1(str(path).encode(), usedforsecurity=False).hexdigest()[:12]
    return f"loom_dag_{digest}_{path.stem}"


# -- output containment -------------------------------------------------------------------


class _CappedFd(io.RawIOBase):
    """Writes to a file descriptor; once the size limit is reached, output is dropped."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, data: Any) -> int:
        size = len(memoryview(data))
        try:
            return os.write(self._fd, data)
        except OSError as exc:
            if exc.errno != errno.EFBIG:
                raise
            return size  # past the limit: printing goes on, silently, instead of failing


def _contain_output(output_path: str) -> None:
    """Send fds 1 and 2 into ``output_path``, which cannot grow past the limit."""
    # With SIGXFSZ ignored, a write past RLIMIT_FSIZE fails with EFBIG instead of
    # killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT_BYTES, OUTPUT_LIMIT_BYTES))
    fd = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = _text_stream(1)
    sys.stderr = _text_stream(2)
    # A segfault then leaves a Python traceback in the output for the import error.
    faulthandler.enable(file=sys.stderr)


def _text_stream(fd: int) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.BufferedWriter(_CappedFd(fd)), encoding="utf-8", errors="replace", line_buffering=True
    )


# -- importing ----------------------------------------------------------------------------


def import_dag_file(path: Path, *, cron_data_intervals: bool = False) -> ModuleType:
    """Run ``path`` as a module of its own (see :func:`module_name`); errors propagate.

    The DAGs it constructs are found with :func:`engine.authoring.dag.collect_dags`; their
    cron strings become timetables as ``scheduler.create_cron_data_intervals``
    (``cron_data_intervals``) says.
    """
    name = module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with cron_strings_as(data_intervals=cron_data_intervals):
        spec.loader.exec_module(module)
    return module


def _failure(message: str, trace: str | None = None) -> dict[str, Any]:
    error = {"message": message, "traceback": trace}
    return {"imported": False, "dags": [], "invalid_dag_ids": [], "errors": [error]}


def _exception_message(exc: BaseException, path: Path) -> str:
    """``file:line: Type: text`` where the file is the innermost user frame."""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f"{exc.filename}:{exc.lineno}" if exc.lineno else exc.filename
        return f"{where}: {type(exc).__name__}: {exc.msg}"
    frames = _user_frames(traceback.extract_tb(exc.__traceback__))
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else str(path)
    text = str(exc)
    return f"{where}: {type(exc).__name__}: {text}" if text else f"{where}: {type(exc).__name__}"


def _user_frames(stack: traceback.StackSummary) -> list[traceback.FrameSummary]:
    """Frames where the user can fix something: outside Loom and the standard library."""
    return [frame for frame in stack if _is_user_file(frame.filename)]


def _is_user_file(filename: str) -> bool:
    # The same rule as engine.authoring.callsite.user_call_site, which names DAG problems' lines.
    if filename.startswith((_ENGINE_DIR, "<frozen")):
        return False
    return "/lib/python3" not in filename or "site-packages" in filename


def _user_traceback(exc: BaseException) -> str:
    """The traceback without the parser's and importlib's frames, which only add noise."""
    summary = traceback.TracebackException.from_exception(exc)
    seen: set[int] = set()
    pending: list[traceback.TracebackException | None] = [summary]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        kept = [f for f in current.stack if not _is_parser_frame(f.filename)]
        current.stack = traceback.StackSummary.from_list(kept)
        pending += [current.__cause__, current.__context__]
    return "".join(summary.format())


def _is_parser_frame(filename: str) -> bool:
    return filename.startswith(_PARSER_DIR) or filename.startswith("<frozen importlib")


# -- validation and serialization ---------------------------------------------------------


def _check_and_serialize(path: Path, dags: list[DAG]) -> dict[str, Any]:
    problems: list[str] = []
    serialized: list[dict[str, Any]] = []
    invalid: list[str] = []
    first_by_id: dict[str, DAG] = {}
    for dag in dags:
        dag.fileloc = str(path)
        found = [str(problem) for problem in validate_dag(dag)]
        found += _duplicate_in_file(dag, first_by_id)
        data = _serialize(dag, found) if not found else None
        if data is None:
            problems += found
            invalid.append(str(dag.dag_id))
        else:
            serialized.append(data)
    errors = [{"message": "\n".join(problems), "traceback": None}] if problems else []
    return {"imported": True, "dags": serialized, "invalid_dag_ids": invalid, "errors": errors}


def _duplicate_in_file(dag: DAG, first_by_id: dict[str, DAG]) -> list[str]:
    key = str(dag.dag_id)
    first = first_by_id.setdefault(key, dag)
    if first is dag:
        return []
    site = dag.call_site
    message = f"dag_id is used twice in this file (first at {first.call_site})"
    return [str(Problem(message, key, site.file, site.line))]


def _serialize(dag: DAG, problems: list[str]) -> dict[str, Any] | None:
    """``dag`` as checked JSON-safe data; on failure, appends a problem and returns None."""
    try:
        data = serialize_dag(dag)
        json.dumps(data, allow_nan=False)  # the database stores it as JSON: fail here
    except Exception as exc:  # noqa: BLE001 - any failure is the DAG's problem, reported
        site = dag.call_site
        problem = Problem(f"cannot be serialized: {exc!r}", dag.dag_id, site.file, site.line)
        problems.append(str(problem))
        return None
    return data
