"""``@asset``: a function that materializes an asset, as a DAG of one task.

As in Airflow 3, the decorated function becomes a DAG whose id is the asset's name (the
function's name unless ``name=`` is given), with one task of the same id whose outlet is
the asset; the decorator returns the asset, so other DAGs can be scheduled on it::

    @asset(schedule="@daily", start_date=datetime(2026, 1, 1), uri="s3://bucket/raw")
    def raw_data():
        ...

    with DAG("report", schedule=raw_data): ...

The function receives the context values it names, ``self`` (the asset) and ``context``
(the whole context). Other keyword arguments are the DAG's (an unknown one is a problem
of the DAG that names it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.authoring.assets import Asset
from engine.authoring.dag import DAG
from engine.authoring.operators.python import PythonOperator, context_kwargs


class AssetDefinition(Asset):
    """The asset ``@asset`` returns, with the DAG that materializes it (``.dag``)."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None,
        uri: str | None,
        group: str,
        extra: Mapping[str, Any] | None,
        schedule: Any,
        dag_arguments: Mapping[str, Any],
    ) -> None:
        super().__init__(name=name or function.__name__, uri=uri, group=group, extra=extra)
        self.function = function
        with DAG(self.name, schedule=schedule, **dag_arguments) as dag:
            PythonOperator(task_id=self.name, python_callable=self._materialize, outlets=[self])
        self.dag = dag

    def _materialize(self, **context: Any) -> Any:
        offered = {**context, "self": self, "context": context}
        return self.function(**context_kwargs(self.function, (), {}, offered))


def asset(
    *,
    schedule: Any,
    name: str | None = None,
    uri: str | None = None,
    group: str = "asset",
    extra: Mapping[str, Any] | None = None,
    **dag_arguments: Any,
) -> Callable[[Callable[..., Any]], AssetDefinition]:
    """Decorate a function that materializes an asset (see the module's docstring)."""

    def decorate(function: Callable[..., Any]) -> AssetDefinition:
        return AssetDefinition(
            function,
            name=name,
            uri=uri,
            group=group,
            extra=extra,
            schedule=schedule,
            dag_arguments=dag_arguments,
        )

    return decorate
