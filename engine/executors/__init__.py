"""Executors: transport of task-instance tries from the scheduler to workers.

``rq`` puts each try on a Redis queue (``loom.high``, ``loom.default``, ``loom.low``)
for ``loom worker`` processes; ``local`` runs tries in a pool of processes of the
calling process (``loom standalone``). Both call ``workers.entry.run_job(ti_id,
try_number)`` and both implement :class:`Executor`. The database stays the source of
truth: a submission is idempotent per try, and a lost job is re-submitted by the
scheduler's reconciliation.
"""

from engine.lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
