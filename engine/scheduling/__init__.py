"""One scheduler tick, in named steps; each module one idea.

* :mod:`~engine.scheduling.dagruns`: create due scheduled runs, start queued runs.
* :mod:`~engine.scheduling.readiness`: trigger rules and branches → ``scheduled``.
* :mod:`~engine.scheduling.submission`: ``scheduled`` → ``queued`` within limits.
* :mod:`~engine.scheduling.maintenance`: retries, zombies, run timeouts, lost jobs.
* :mod:`~engine.scheduling.reschedules`: rescheduled sensors whose next poke is due.
* :mod:`~engine.scheduling.finishing`: a run's final state (read with readiness' rows).

Every function takes ``session`` keyword-only and never commits.
"""

from engine.lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
