from workers.context import RunnerContext as RunnerContext
from workers.context import RunnerSettings as RunnerSettings
from workers.dagcache import DagCache as DagCache
from workers.runner import run_task as run_task
from workers.xcom import DatabaseXComStore as DatabaseXComStore
