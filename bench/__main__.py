"""``make bench``: run every benchmark and print their figures as JSON lines.

The benchmarks run one after another (they share the Redis database and the CPUs); a
benchmark that fails prints ``{"benchmark": name, "error": ...}`` and the others go on.

The end-to-end group (the RQ floor, the fan-outs and the chain) runs as three interleaved
repetitions (:mod:`bench.repeat`): each line carries medians with their spread, and the
ratios come from the medians.

Options (for development; ``make bench`` runs everything)::

    python -m bench --only end_to_end,try_cost   # only these groups (names: GROUPS)
    python -m bench --quick                      # one repetition, smaller fan-outs
    python -m bench --repetitions 5
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import (
    api_bench,
    cli_bench,
    loom_runs,
    memory_bench,
    parse_bench,
    parse_latency_bench,
    rq_floor,
    tick_bench,
    try_cost,
    ui_bench,
)
from bench._infra import emit
from bench.repeat import interleave


def _guarded(name: str, body: Callable[[], Any]) -> Any:
    try:
        return body()
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"benchmark": name, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return None


@dataclass(frozen=True)
class Sizes:
    """How big and how often the end-to-end runs are (``--quick`` shrinks them)."""

    repetitions: int = 3
    floor_jobs: int = 2000
    fan_out_width: int = 1000
    chain_length: int = 50


def end_to_end(sizes: Sizes) -> None:
    """The floor and Loom's runs, interleaved so a load burst hits both; one line each."""
    width, length = sizes.fan_out_width, sizes.chain_length
    samples = interleave(
        {
            "rq_floor": lambda: rq_floor.once(sizes.floor_jobs, 2),
            "fan_out": lambda: loom_runs.fan_out_once(width),
            "fan_out_mapped": lambda: loom_runs.fan_out_once(width, mapped=True),
            "chain_in_process": lambda: loom_runs.chain_once(length, fork=False),
            "chain_forking": lambda: loom_runs.chain_once(length, fork=True),
        },
        sizes.repetitions,
        guard=_guarded,
    )
    one_worker = _guarded("rq_floor", lambda: rq_floor.once(sizes.floor_jobs, 1))
    floor = emit(rq_floor.figures(samples["rq_floor"], [one_worker] if one_worker else []))
    rate = floor["jobs_per_second_2_workers"]
    for name, mapped in (("fan_out", False), ("fan_out_mapped", True)):
        if samples[name]:
            emit(loom_runs.fan_out_figures(samples[name], width=width, mapped=mapped, floor=rate))
    emit(
        loom_runs.chain_figures(
            samples["chain_in_process"], samples["chain_forking"], length=length
        )
    )


GROUPS: dict[str, Callable[[Sizes], Any]] = {
    "end_to_end": end_to_end,
    "try_cost": lambda sizes: try_cost.main(),
    "scheduler_tick": lambda sizes: tick_bench.main(),
    "parse": lambda sizes: parse_bench.main(),
    "parse_latency": lambda sizes: parse_latency_bench.main(),
    "cli": lambda sizes: cli_bench.main(),
    "standalone_memory": lambda sizes: memory_bench.main(),
    "api": lambda sizes: api_bench.main(),
    "ui": lambda sizes: ui_bench.main(),
}
"""Every benchmark group, in the order ``make bench`` runs them."""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help=f"comma-separated: {', '.join(GROUPS)}")
    parser.add_argument("--quick", action="store_true", help="1 repetition, 200-wide fan-outs")
    parser.add_argument("--repetitions", type=int, default=None, help="interleaved rounds (3)")
    arguments = parser.parse_args(argv)
    unknown = set(filter(None, arguments.only.split(","))) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {sorted(unknown)}; known: {', '.join(GROUPS)}")
    return arguments


def main(argv: list[str] | None = None) -> None:
    arguments = _arguments(argv)
    logging.basicConfig(level=logging.ERROR)  # the in-process scheduler's chatter stays out
    sizes = Sizes(repetitions=1, floor_jobs=1000, fan_out_width=200) if arguments.quick else Sizes()
    if arguments.repetitions is not None:
        sizes = Sizes(**{**sizes.__dict__, "repetitions": max(1, arguments.repetitions)})
    chosen = [name for name in arguments.only.split(",") if name] or list(GROUPS)
    for name in GROUPS:
        if name in chosen:
            _guarded(name, lambda run=GROUPS[name]: run(sizes))


if __name__ == "__main__":
    main()
