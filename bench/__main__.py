"""``make bench``: run every benchmark and print their figures as JSON lines.

The benchmarks run one after another (they share the Redis database and the CPUs); a
benchmark that fails prints ``{"benchmark": name, "error": ...}`` and the others go on.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable
from typing import Any

from bench import (
    api_bench,
    cli_bench,
    fork_chain,
    loom_runs,
    memory_bench,
    parse_bench,
    rq_floor,
    tick_bench,
    ui_bench,
)


def _guarded(name: str, body: Callable[[], Any]) -> Any:
    try:
        return body()
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"benchmark": name, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return None


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the in-process scheduler's chatter stays out
    floor = _guarded("rq_floor", rq_floor.main)
    floor_rate = floor["jobs_per_second_2_workers"] if floor else None
    _guarded("fan_out", lambda: loom_runs.emit(loom_runs.fan_out(floor=floor_rate)))
    _guarded(
        "fan_out_mapped",
        lambda: loom_runs.emit(loom_runs.fan_out(floor=floor_rate, mapped=True)),
    )
    _guarded("chain", lambda: loom_runs.emit(loom_runs.chain()))
    _guarded("task_chain", lambda: loom_runs.emit(fork_chain.task_chain()))
    _guarded("scheduler_tick", tick_bench.main)
    _guarded("parse", parse_bench.main)
    _guarded("cli", cli_bench.main)
    _guarded("standalone_memory", memory_bench.main)
    _guarded("api", api_bench.main)
    _guarded("ui", ui_bench.main)


if __name__ == "__main__":
    main()
