"""The triggerer: one asyncio loop that runs the triggers of deferred task instances.

* :mod:`~engine.triggering.claims`: the database side, each a short transaction: the
  triggerer's heartbeat, claiming triggers (``FOR UPDATE SKIP LOCKED``), recording a
  fired or failed trigger.
* :mod:`~engine.triggering.runner`: the loop side: one asyncio task per trigger, and a
  watchdog that names a trigger that blocks the loop.
* :mod:`~engine.triggering.triggerer`: the process loop that joins them.
"""
