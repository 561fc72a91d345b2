"""Hooks and the operators and sensors built on them: SQL databases and HTTP services.

Run-time code (it opens connections, imports SQLAlchemy or requests on use), so the
authoring API never imports it; ``from engine import SQLExecuteQueryOperator`` loads it
lazily, as every public name. Names follow Airflow's common-sql and HTTP providers.

* :mod:`~engine.hooks.sql`: ``DbApiHook`` (``SqlHook``), ``PostgresHook``, ``SqliteHook``.
* :mod:`~engine.hooks.sql_operators`: ``SQLExecuteQueryOperator``, ``SqlSensor``.
* :mod:`~engine.hooks.http`: ``HttpHook``.
* :mod:`~engine.hooks.http_operators`: ``HttpOperator``, ``HttpSensor``.
* :mod:`~engine.hooks.registry`: the hook for a connection type; testing a connection.
"""

from engine.lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
