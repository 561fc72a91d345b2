"""Loom's workers: the task runner that executes one delivered try of a task instance.

* :func:`run_task` runs a try, given a :class:`RunnerContext`.
* :class:`RunnerSettings` holds the configuration values the runner needs.
* :class:`DagCache` keeps the DAG files a worker process imported, by content hash.
* :class:`DatabaseXComStore` is XCom in the database, as a running try sees it.
"""

from engine.lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
