"""``SQLExecuteQueryOperator`` and ``SqlSensor``: SQL through a :class:`DbApiHook`.

As Airflow's common-sql provider. The operator runs ``sql`` (a string, a list, or a
``.sql`` file found like any template file, rendered with the task's context) and pushes
what its ``handler`` returns as XCom in Airflow's shape: rows as lists, one list of rows
for one statement, a list of those with ``return_last=False`` or a list of statements.
The sensor pokes until the first cell of the first row (or what ``selector`` picks from
that row) passes ``success`` (or is truthy); ``failure`` fails the task first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from engine.authoring.baseoperator import BaseOperator, check_callable
from engine.authoring.operators.python import optional_name
from engine.authoring.operators.sensors.base import BaseSensorOperator
from engine.errors import HookError
from engine.hooks.sql import DbApiHook, Parameters, fetch_all_handler

logger = logging.getLogger(__name__)


def as_lists(value: Any) -> Any:
    """Rows (tuples), lists of rows and lists of those, as lists: Airflow's XCom shape."""
    if isinstance(value, tuple | list):
        return [as_lists(item) for item in value]
    return value


class SQLExecuteQueryOperator(BaseOperator):
    """Run ``sql`` on connection ``conn_id`` (see the module docstring)."""

    template_fields: ClassVar[tuple[str, ...]] = ("conn_id", "sql", "parameters")
    template_ext: ClassVar[tuple[str, ...]] = (".sql",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql", "parameters": "json"}
    ui_color: ClassVar[str] = "#cdaaed"

    def __init__(
        self,
        task_id: str,
        *,
        conn_id: str,
        sql: str | list[str],
        autocommit: bool = False,
        parameters: Parameters = None,
        handler: Callable[[Any], Any] = fetch_all_handler,
        split_statements: bool = False,
        return_last: bool = True,
        show_return_value_in_logs: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.conn_id = conn_id
        self.sql = sql
        self.autocommit = autocommit
        self.parameters = parameters
        self.handler = handler
        self.split_statements = split_statements
        self.return_last = return_last
        self.show_return_value_in_logs = show_return_value_in_logs
        if not isinstance(sql, str | list) or not sql:
            self.problems.append(f"sql must be a string or a list of strings, got {sql!r}")
        check_callable("handler", handler, self.problems)

    def get_db_hook(self) -> DbApiHook:
        """The hook on ``conn_id`` (Airflow's name)."""
        return DbApiHook(conn_id=self.conn_id)

    def execute(self, context: Mapping[str, Any]) -> Any:
        output = self.get_db_hook().run(
            sql=self.sql,
            autocommit=self.autocommit,
            parameters=self.parameters,
            handler=self.handler if self.do_xcom_push else None,
            split_statements=self.split_statements,
            return_last=self.return_last,
        )
        result = as_lists(output)
        if self.show_return_value_in_logs:
            logger.info("Operator output is: %s", result)
        return result

    def serialize_fields(self) -> dict[str, Any]:
        return {
            **super().serialize_fields(),
            "autocommit": self.autocommit,
            "handler": optional_name(self.handler),
            "split_statements": self.split_statements,
            "return_last": self.return_last,
        }


class SqlSensor(BaseSensorOperator):
    """Poke ``sql`` on ``conn_id`` until its first row says so (see the module docstring).

    No row: not yet, or a failure with ``fail_on_empty``. ``failure(cell)`` true fails the
    task (retries apply, as Airflow's exception does); ``success(cell)`` decides, else the
    cell's truth (``0``, ``'0'``, ``''`` and ``None`` are not done)."""

    template_fields: ClassVar[tuple[str, ...]] = ("conn_id", "sql", "parameters")
    template_ext: ClassVar[tuple[str, ...]] = (".hql", ".sql")
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql", "parameters": "json"}
    ui_color: ClassVar[str] = "#7c7287"

    def __init__(
        self,
        task_id: str,
        *,
        conn_id: str,
        sql: str,
        parameters: Parameters = None,
        success: Callable[[Any], Any] | None = None,
        failure: Callable[[Any], Any] | None = None,
        selector: Callable[[Any], Any] | None = None,
        fail_on_empty: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.conn_id = conn_id
        self.sql = sql
        self.parameters = parameters
        self.success = success
        self.failure = failure
        self.selector = selector
        self.fail_on_empty = fail_on_empty
        for name in ("success", "failure", "selector"):
            check_callable(name, getattr(self, name), self.problems, optional=True)

    def poke(self, context: Mapping[str, Any]) -> bool:
        records = DbApiHook(conn_id=self.conn_id).get_records(self.sql, self.parameters)
        if not records:
            if self.fail_on_empty:
                raise HookError("No rows returned, raising as per fail_on_empty flag")
            return False
        cell = self._select(records[0])
        if self.failure is not None and self.failure(cell):
            raise HookError(f"Failure criteria met. failure({cell!r}) returned True")
        if self.success is not None:
            return bool(self.success(cell))
        return cell not in (0, "0", "", None)

    def _select(self, row: Iterable[Any]) -> Any:
        if self.selector is not None:
            return self.selector(row)
        return next(iter(row))

    def serialize_fields(self) -> dict[str, Any]:
        return {
            **super().serialize_fields(),
            "success": optional_name(self.success),
            "failure": optional_name(self.failure),
            "selector": optional_name(self.selector),
            "fail_on_empty": self.fail_on_empty,
        }
