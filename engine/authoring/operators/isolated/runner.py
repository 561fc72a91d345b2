"""The script another interpreter runs to call one task function, and the serializers.

Loom copies this file into the try's own temporary folder and runs it there with the
target interpreter (``python runner.py CALL_DIR``), so it uses the standard library only
and runs on any Python from 3.8. The folder holds:

* ``call.json``: the function's name, its source (padded so that its line numbers are
  those of the DAG file, which tracebacks then quote), the serializer, ``string_args``;
* ``input``: the positional and keyword arguments, serialized;
* ``output``: written here, the serialized return value, when the function returned;
* ``error.json``: written here, when it raised an exception: its class names (so Loom can
  tell ``AirflowSkipException`` / ``SkipTask`` from a failure without importing Loom in
  the target), its message and its traceback.

``sys.exit(n)`` in the function is not caught: the process exits with ``n``, for
``skip_on_exit_code``. The worker imports this module for :func:`dumps` and :func:`loads`,
so both sides share one codec.

The ``json`` serializer is JSON plus ``datetime``, ``date``, ``time`` and ``timedelta``
(tagged objects), so context dates cross unchanged; ``pickle``, ``cloudpickle`` and
``dill`` are used as they are.
"""

from __future__ import annotations
import __future__

import datetime
import importlib
import importlib.util
import json
import sys
import traceback
from pathlib import Path
from typing import Any

CALL_FILE = "call.json"
INPUT_FILE = "input"
OUTPUT_FILE = "output"
ERROR_FILE = "error.json"

SERIALIZERS = ("json", "pickle", "cloudpickle", "dill")
"""What ``serializer=`` may name; ``json`` is Loom's default (Airflow's is ``pickle``)."""

TAG = "__loom_type__"

_FROM_TAG: dict[str, Any] = {
    "datetime": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "time": datetime.time.fromisoformat,
    "timedelta": lambda seconds: datetime.timedelta(seconds=seconds),
}


def _tagged(value: Any) -> Any:
    """``json.dumps``'s ``default``: the date and time types as tagged objects."""
    if isinstance(value, datetime.datetime):
        return {TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, datetime.date):
        return {TAG: "date", "value": value.isoformat()}
    if isinstance(value, datetime.time):
        return {TAG: "time", "value": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {TAG: "timedelta", "value": value.total_seconds()}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _untagged(obj: dict[str, Any]) -> Any:
    kind = obj.get(TAG)
    if kind in _FROM_TAG and len(obj) == 2 and "value" in obj:
        return _FROM_TAG[kind](obj["value"])
    return obj


def dumps(value: Any, serializer: str) -> bytes:
    """``value`` serialized with ``serializer`` (one of :data:`SERIALIZERS`)."""
    if serializer == "json":
        return json.dumps(value, default=_tagged).encode("utf-8")
    return bytes(importlib.import_module(serializer).dumps(value))


def loads(data: bytes, serializer: str) -> Any:
    """The value :func:`dumps` serialized."""
    if serializer == "json":
        return json.loads(data.decode("utf-8"), object_hook=_untagged)
    return importlib.import_module(serializer).loads(data)


def _write(call_dir: str, name: str, data: bytes) -> None:
    (Path(call_dir) / name).write_bytes(data)


def _read(call_dir: str, name: str) -> bytes:
    return (Path(call_dir) / name).read_bytes()


def _report_error(call_dir: str, exc: BaseException) -> None:
    frames = exc.__traceback__.tb_next if exc.__traceback__ else None  # not main()'s own
    text = "".join(traceback.format_exception(type(exc), exc, frames))
    sys.stderr.write(text)
    error = {
        "type": type(exc).__name__,
        "classes": [cls.__name__ for cls in type(exc).__mro__],
        "message": str(exc),
        "traceback": text,
    }
    _write(call_dir, ERROR_FILE, json.dumps(error).encode("utf-8"))


def _load_function(call: dict[str, Any]) -> Any:
    namespace: dict[str, Any] = {
        "__name__": "__loom_task__",
        "virtualenv_string_args": call["string_args"],
    }
    flags = __future__.annotations.compiler_flag  # annotations may name outside types
    code = compile(call["source"], call["filename"], "exec", flags=flags, dont_inherit=True)
    exec(code, namespace)
    return namespace[call["function"]]


def main(call_dir: str) -> int:
    """Call the function described in ``call_dir``; 0 when it returned, 1 when it raised."""
    call = json.loads(_read(call_dir, CALL_FILE).decode("utf-8"))
    if call["expect_airflow"] and importlib.util.find_spec("engine") is None:
        print(
            "expect_airflow: Loom (the engine package) is not importable in this Python; "
            "raise an exception named AirflowSkipException to skip, or exit with "
            "skip_on_exit_code",
            file=sys.stderr,
        )
    serializer = call["serializer"]
    try:
        arguments = loads(_read(call_dir, INPUT_FILE), serializer)
        function = _load_function(call)
        result = function(*arguments["args"], **arguments["kwargs"])
        output = dumps(result, serializer)
    except Exception as exc:  # noqa: BLE001 - any error of the function is the task's
        _report_error(call_dir, exc)
        return 1
    _write(call_dir, OUTPUT_FILE, output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
