"""Interleaved repetitions: how ``make bench`` keeps its ratios honest on a shared machine.

A figure taken once can be off by a factor of two when something else loads the CPU for a
few seconds (a floor measured during such a burst once gave a ratio of 2.4). So the RQ
floor and every Loom end-to-end figure are measured ``repetitions`` times, *interleaved*
(floor, fan-out, chain, floor, fan-out, chain, ...) so a burst hits the floor and the
figure alike; each figure is the median of its repetitions, printed with its spread
(min, max), and ratios are computed from the medians.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

Sample = dict[str, Any]
"""One repetition's raw figures (numbers, plus words such as the run's state)."""


def interleave(
    steps: dict[str, Callable[[], Sample]],
    repetitions: int,
    *,
    guard: Callable[[str, Callable[[], Sample]], Sample | None],
) -> dict[str, list[Sample]]:
    """Run every step once per round, ``repetitions`` rounds; the samples of each step.

    ``guard`` runs a step and returns None when it failed (it reports the error), so a
    step that fails once contributes fewer samples instead of ending the run.
    """
    samples: dict[str, list[Sample]] = {name: [] for name in steps}
    for _round in range(repetitions):
        for name, step in steps.items():
            sample = guard(name, step)
            if sample is not None:
                samples[name].append(sample)
    return samples


def spread(values: list[float], digits: int = 3) -> dict[str, float | int]:
    """Median, min and max of ``values`` (and how many there were)."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


def median_of(samples: list[Sample], key: str) -> float:
    return float(statistics.median(sample[key] for sample in samples))


def words(samples: list[Sample], key: str) -> list[Any]:
    """The non-numeric figure ``key`` of each sample (the run states, say)."""
    return [sample[key] for sample in samples]
