"""The triggerer's tests share the worker tests' database, DAG folder and runner context."""

from tests.workers.conftest import ctx as ctx

__all__ = ["ctx"]
