"""``@asset``: a function that materializes an asset, as a DAG of one task.

As in Airflow 3, the decorated function becomes a DAG whose id is the asset's name (the
function's name unless ``name=`` is given), with one task of the same id whose outlet is
the asset; the decorator returns the asset, so other DAGs can be scheduled on it::

    @asset(schedule="@daily", start_date=datetime(2026, 1, 1), uri="s3://bucket/raw")
    def raw_data():
        ...

    with DAG("report", schedule=raw_data): ...

The function receives the context values it names, ``self`` (the asset) and ``context``
(the whole context). As in Airflow, a parameter (without a default) named after another
asset is that asset, and an inlet of the task (``context["inlet_events"][param]`` reads
its events); Loom finds it among the assets defined in the function's module (an
``@asset`` or ``Asset`` bound to that name). Other keyword arguments are the DAG's (an
unknown one is a problem of the DAG that names it).
"""

from __future__ import annotations

import inspect
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
        self.inlet_assets = _inlet_assets(function)
        with DAG(self.name, schedule=schedule, **dag_arguments) as dag:
            PythonOperator(
                task_id=self.name,
                python_callable=self._materialize,
                outlets=[self],
                inlets=list(self.inlet_assets.values()),
            )
        self.dag = dag

    def _materialize(self, **context: Any) -> Any:
        offered = {**context, **self.inlet_assets, "self": self, "context": context}
        return self.function(**context_kwargs(self.function, (), {}, offered))


def _inlet_assets(function: Callable[..., Any]) -> dict[str, Asset]:
    """The function's parameters (without a default) named after an asset of its module."""
    module = getattr(function, "__globals__", {})
    found: dict[str, Asset] = {}
    for name, param in inspect.signature(function).parameters.items():
        value = module.get(name)
        wanted = name not in ("self", "context") and param.default is param.empty
        if wanted and isinstance(value, Asset):
            found[name] = value
    return found


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
