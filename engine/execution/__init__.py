"""Running one try of a task in this process and recording how it ended.

* :mod:`~engine.execution.attempt`: render, execute and classify one try.
* :mod:`~engine.execution.context`: what a running task sees (dates, run, params, ``ti``).
* :mod:`~engine.execution.retries`: when the next try is due.
* :mod:`~engine.execution.outcomes`: a try's end, shared by the runner and the scheduler.
* :mod:`~engine.execution.dagtest`: ``loom dags test``, one run with no service at all.
"""
