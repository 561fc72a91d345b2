"""PythonSensor and ``@task.sensor``: a Python callable as the poke."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from engine.authoring.operators.python import bind_callable, call_python, dotted_name
from engine.authoring.operators.sensors.base import BaseSensorOperator, PokeReturnValue


class PythonSensor(BaseSensorOperator):
    """Poke by calling ``python_callable(*op_args, **op_kwargs)`` (context values as a
    PythonOperator's); it returns a bool or a :class:`PokeReturnValue`."""

    template_fields: ClassVar[tuple[str, ...]] = ("templates_dict", "op_args", "op_kwargs")

    def __init__(
        self,
        task_id: str,
        python_callable: Callable[..., Any],
        *,
        op_args: Sequence[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.python_callable, self.op_args, self.op_kwargs = bind_callable(
            python_callable, op_args, op_kwargs, problems=self.problems
        )
        self.templates_dict = dict(templates_dict) if templates_dict is not None else None

    def poke(self, context: Mapping[str, Any]) -> bool | PokeReturnValue:
        result = call_python(
            self.python_callable, self.op_args, self.op_kwargs, self.templates_dict, context
        )
        return result if isinstance(result, PokeReturnValue) else bool(result)

    def serialize_fields(self) -> dict[str, Any]:
        return {
            **super().serialize_fields(),
            "python_callable": dotted_name(self.python_callable),
            "op_args": self.op_args,
            "op_kwargs": self.op_kwargs,
            "templates_dict": self.templates_dict,
        }


class DecoratedSensorOperator(PythonSensor):
    """``@task.sensor``: the function is the poke; the sensor's settings are the
    decorator's arguments (``@task.sensor(poke_interval=30, timeout=3600, mode="poke")``)."""

    template_fields: ClassVar[tuple[str, ...]] = ("op_args", "op_kwargs")
