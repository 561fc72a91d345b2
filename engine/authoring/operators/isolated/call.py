"""One call of a task function in a child process of another interpreter.

The child's stdout and stderr are copied line by line into the task's log. How it ended
becomes the task's outcome: its return value; an exit code in ``skip_on_exit_code`` or
an exception named ``AirflowSkipException`` / ``SkipTask``: skipped; an exception named
``AirflowFailException`` / ``FailTask``: failed without retries; any other exception or
exit code: a failure whose message carries the child's traceback. The child runs in its
own process group, which is killed if the try is interrupted (a timeout).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.authoring.operators.isolated import runner
from engine.authoring.operators.isolated.environments import VirtualenvError
from engine.authoring.operators.isolated.source import FunctionSource
from engine.authoring.operators.streaming import run_streaming
from engine.authoring.signals import FailTask, SkipTask

SKIP_NAMES = frozenset({"AirflowSkipException", "SkipTask"})
FAIL_NAMES = frozenset({"AirflowFailException", "FailTask"})


class IsolatedTaskError(Exception):
    """The task function failed in the other interpreter; its traceback is the cause."""


class RemoteTraceback(Exception):  # noqa: N818 - it is a traceback, shown as the cause
    """The traceback of the exception raised in the other interpreter, as text."""

    def __str__(self) -> str:
        return f"\n\n{self.args[0]}"


@dataclass(frozen=True)
class FunctionCall:
    """What one call needs: the function, its arguments, and how to carry them."""

    source: FunctionSource
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    serializer: str = "json"
    string_args: Sequence[str] = ()
    expect_airflow: bool = True


def call_function(
    python: Path | str,
    call: FunctionCall,
    *,
    env: Mapping[str, str],
    skip_on_exit_code: Collection[int] = (),
) -> Any:
    """Run ``call`` with ``python``; its return value, or the exception of its outcome."""
    with tempfile.TemporaryDirectory(prefix="loom-call-") as tmp:
        folder = Path(tmp)
        script = folder / "loom_task_runner.py"
        script.write_text(Path(runner.__file__).read_text(encoding="utf-8"), encoding="utf-8")
        _write_call(folder, call)
        code, tail = run_streaming(
            [str(python), str(script), str(folder)], env={**env, "PYTHONUNBUFFERED": "1"}
        )
        if code in skip_on_exit_code:
            raise SkipTask(f"the task's process exited with {code}")
        if (folder / runner.ERROR_FILE).exists():
            raise _error_outcome(json.loads((folder / runner.ERROR_FILE).read_text()))
        if code != 0:
            quoted = "".join(tail)
            raise IsolatedTaskError(
                f"the task's process ({python}) exited with status {code}; its last output:\n"
                f"{quoted}"
            )
        return runner.loads((folder / runner.OUTPUT_FILE).read_bytes(), call.serializer)


def _write_call(folder: Path, call: FunctionCall) -> None:
    described = {
        "function": call.source.name,
        "source": call.source.text,
        "filename": call.source.filename,
        "serializer": call.serializer,
        "string_args": [str(arg) for arg in call.string_args],
        "expect_airflow": call.expect_airflow,
    }
    (folder / runner.CALL_FILE).write_text(json.dumps(described), encoding="utf-8")
    arguments = {"args": list(call.args), "kwargs": dict(call.kwargs)}
    try:
        data = runner.dumps(arguments, call.serializer)
    except Exception as exc:
        raise TypeError(
            f"the arguments of {call.source.name!r} cannot be serialized with "
            f"{call.serializer!r}: {exc}; pass JSON values, or choose serializer='pickle'"
        ) from exc
    (folder / runner.INPUT_FILE).write_bytes(data)


def _error_outcome(error: dict[str, Any]) -> Exception:
    classes = set(error["classes"])
    if classes & SKIP_NAMES:
        return SkipTask(error["message"])
    if classes & FAIL_NAMES:
        return FailTask(error["message"])
    failure = IsolatedTaskError(f"{error['type']}: {error['message']}")
    failure.__cause__ = RemoteTraceback(error["traceback"].rstrip("\n"))
    return failure


def run_checked(command: list[str]) -> None:
    """Run a step of building an environment; :class:`VirtualenvError` when it fails."""
    sys.stdout.write(f"$ {' '.join(command)}\n")
    code, _ = run_streaming(command, env=os.environ)
    if code != 0:
        raise VirtualenvError(f"{command[0]} exited with status {code}: {' '.join(command)}")
