"""One scheduler tick, in named steps; each module one idea.

* :mod:`~engine.scheduling.dagruns`: create due scheduled runs, start queued runs.
* :mod:`~engine.scheduling.readiness`: trigger rules and branches → ``scheduled``.
* :mod:`~engine.scheduling.submission`: ``scheduled`` → ``queued`` within limits.
* :mod:`~engine.scheduling.maintenance`: retries, zombies, run timeouts, lost jobs.
* :mod:`~engine.scheduling.finishing`: a run's final state (read with readiness' rows).

Every function takes ``session`` keyword-only and never commits.
"""

from engine.scheduling.dagruns import NEVER as NEVER
from engine.scheduling.dagruns import create_due_runs as create_due_runs
from engine.scheduling.dagruns import start_queued_runs as start_queued_runs
from engine.scheduling.finishing import finish_run_if_done as finish_run_if_done
from engine.scheduling.maintenance import detect_zombies as detect_zombies
from engine.scheduling.maintenance import fail_timed_out_runs as fail_timed_out_runs
from engine.scheduling.maintenance import promote_retries as promote_retries
from engine.scheduling.maintenance import stale_queued as stale_queued
from engine.scheduling.readiness import BRANCH_XCOM_KEY as BRANCH_XCOM_KEY
from engine.scheduling.readiness import decide_ready as decide_ready
from engine.scheduling.readiness import instance_rows as instance_rows
from engine.scheduling.readiness import settle as settle
from engine.scheduling.submission import Limits as Limits
from engine.scheduling.submission import Waiting as Waiting
from engine.scheduling.submission import active_count as active_count
from engine.scheduling.submission import job_for as job_for
from engine.scheduling.submission import queue_ready as queue_ready
from engine.scheduling.submission import waiting_instances as waiting_instances

__all__ = [
    "BRANCH_XCOM_KEY",
    "NEVER",
    "Limits",
    "Waiting",
    "active_count",
    "create_due_runs",
    "decide_ready",
    "detect_zombies",
    "fail_timed_out_runs",
    "finish_run_if_done",
    "instance_rows",
    "job_for",
    "promote_retries",
    "queue_ready",
    "settle",
    "stale_queued",
    "start_queued_runs",
    "waiting_instances",
]
