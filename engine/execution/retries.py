"""When the next try of a failed task is due: Airflow's backoff, with bounded jitter."""

from __future__ import annotations

import random
from datetime import timedelta

DEFAULT_MAX_RETRY_DELAY = timedelta(hours=24)
"""Cap for exponential backoff when a task sets none, so a delay never grows unbounded."""

JITTER = 0.1
"""Each exponential delay is scaled by a random factor in [1 - JITTER, 1 + JITTER], so that
tasks failing together (a database outage) do not all retry in the same second."""


def retry_delay_for(
    try_number: int,
    *,
    retry_delay: timedelta,
    exponential: bool,
    max_retry_delay: timedelta | None,
    rng: random.Random | None = None,
) -> timedelta:
    """Delay before the try after ``try_number`` (1 = the first try just failed).

    ``retry_delay * 2 ** (try_number - 1)`` when exponential, with jitter, capped by
    ``max_retry_delay``; otherwise ``retry_delay``, capped likewise.
    """
    if try_number < 1:
        raise ValueError(f"try_number starts at 1, got {try_number}")
    delay = retry_delay
    cap = max_retry_delay
    if exponential:
        factor = 2 ** min(try_number - 1, 62)
        jitter = (rng or random).uniform(1 - JITTER, 1 + JITTER)
        delay = timedelta(seconds=min(retry_delay.total_seconds() * factor * jitter, 1e9))
        cap = cap or DEFAULT_MAX_RETRY_DELAY
    return min(delay, cap) if cap is not None else delay
