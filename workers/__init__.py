"""Loom's workers: the task runner that executes one delivered try of a task instance.

* :func:`run_task` runs a try, given a :class:`RunnerContext`.
* :class:`RunnerSettings` holds the configuration values the runner needs.
* :class:`DagCache` keeps the DAG files a worker process imported, by content hash.
* :class:`DatabaseXComStore` is XCom in the database, as a running try sees it.
"""

from workers.context import RunnerContext as RunnerContext
from workers.context import RunnerSettings as RunnerSettings
from workers.dagcache import DagCache as DagCache
from workers.runner import run_task as run_task
from workers.xcom import DatabaseXComStore as DatabaseXComStore

__all__ = ["DagCache", "DatabaseXComStore", "RunnerContext", "RunnerSettings", "run_task"]
