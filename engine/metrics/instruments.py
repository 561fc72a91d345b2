"""What a Loom process counts while it works, in prometheus_client's default registry.

The instruments are built on first use (:func:`get`), not at import: a process that
forks its work (``loom worker``) first switches to multiprocess mode
(:func:`engine.metrics.exposition.use_multiprocess_dir`), and whatever it imported
before must not have built them in the wrong mode.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, float("inf"))
"""Task durations span milliseconds (no-op tasks) to hours (batch jobs)."""

DELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, float("inf"))


@dataclass(frozen=True)
class Instruments:
    task_duration: Histogram
    task_attempts: Counter
    scheduling_delay: Histogram
    tick_duration: Histogram
    zombies_detected: Counter
    notification_deliveries: Counter
    triggers_running: Gauge
    triggers_blocked: Counter


@functools.cache
def get() -> Instruments:
    """This process's instruments (built once)."""
    return Instruments(
        task_duration=Histogram(
            "loom_task_duration_seconds",
            "How long a try of a task ran, by how it ended (success, failed, retry, skipped).",
            ["outcome"],
            buckets=DURATION_BUCKETS,
        ),
        task_attempts=Counter(
            "loom_task_attempts",
            "Tries that ended, by how (success, failed for good, retry, skipped).",
            ["outcome"],
        ),
        scheduling_delay=Histogram(
            "loom_scheduling_delay_seconds",
            "From a task instance's submission to a worker (queued) to its try running.",
            buckets=DELAY_BUCKETS,
        ),
        tick_duration=Histogram(
            "loom_scheduler_tick_duration_seconds",
            "How long one scheduler tick took.",
            buckets=DELAY_BUCKETS,
        ),
        zombies_detected=Counter(
            "loom_zombies_detected",
            "Running task instances whose worker stopped heartbeating, failed by a scheduler.",
        ),
        notification_deliveries=Counter(
            "loom_notification_deliveries",
            "Notification delivery attempts, by channel (email, webhook) and outcome.",
            ["channel", "outcome"],
        ),
        triggers_running=Gauge(
            "loom_triggers_running",
            "Triggers of deferred tasks this triggerer runs now.",
            multiprocess_mode="livesum",
        ),
        triggers_blocked=Counter(
            "loom_triggers_blocked",
            "Times a trigger held the triggerer's event loop for longer than 0.2 s.",
        ),
    )
