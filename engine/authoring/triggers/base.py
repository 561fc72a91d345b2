"""Deferral as a DAG file sees it: triggers, their events, and the exceptions of a deferral.

A task that has nothing to do but wait calls :meth:`BaseOperator.defer` (Airflow's
name): it raises :class:`TaskDeferred`, the try ends ``deferred`` and frees its worker
slot, and a triggerer process runs the trigger's :meth:`BaseTrigger.run` in an asyncio
loop beside thousands of others. The first :class:`TriggerEvent` it yields resumes the
task on a worker, which calls ``method_name(context, event)`` instead of ``execute``.

Exceptions::

    TaskDeferred            raised by defer(); not a failure
    TaskDeferralError       a trigger failed; the task fails (retry rules apply)
    └── TaskDeferralTimeout the deferral outlived its ``timeout``
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any


class TriggerEvent:
    """What a trigger yields when its condition holds: one JSON-able ``payload`` (the
    types XCom holds: datetimes, tuples, ... come back as they were)."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def __repr__(self) -> str:
        return f"TriggerEvent<{self.payload!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TriggerEvent) and other.payload == self.payload

    __hash__ = None  # type: ignore[assignment]  # mutable payload, as Airflow's


class BaseTrigger(abc.ABC):
    """An asynchronous wait, stored as ``serialize()`` (its class path and the keyword
    arguments that rebuild it) and run by a triggerer.

    ``run`` must never block its loop (no ``time.sleep``, no blocking I/O: use
    ``asyncio.sleep`` and ``asyncio.to_thread``): a triggerer runs all its triggers in one
    loop, and one that blocks delays every other (the triggerer logs it by id).
    """

    def __init__(self, **kwargs: Any) -> None:
        self.trigger_id: int | None = None
        """The id of the trigger's row, set by the triggerer that runs it."""

    @abc.abstractmethod
    def serialize(self) -> tuple[str, dict[str, Any]]:
        """``(classpath, kwargs)``: ``import classpath`` then ``cls(**kwargs)`` rebuilds it."""

    @abc.abstractmethod
    def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait (asynchronously) and yield a :class:`TriggerEvent`; the first one counts."""

    async def cleanup(self) -> None:  # noqa: B027 - optional hook, as Airflow's
        """Called when the trigger stops running (fired, failed, or its task moved on)."""

    def __repr__(self) -> str:
        classpath, kwargs = self.serialize()
        return f"<{classpath} {kwargs}>"


def classpath_of(cls: type) -> str:
    """``module.QualName`` of ``cls``: what :func:`build_trigger` imports."""
    return f"{cls.__module__}.{cls.__qualname__}"


def build_trigger(classpath: str, kwargs: dict[str, Any]) -> BaseTrigger:
    """The trigger that ``serialize()`` returned ``(classpath, kwargs)`` for."""
    module, _, name = classpath.rpartition(".")
    if not module:
        raise ValueError(f"trigger classpath {classpath!r} is not module.ClassName")
    cls = getattr(importlib.import_module(module), name, None)
    if not isinstance(cls, type) or not issubclass(cls, BaseTrigger):
        raise TypeError(f"{classpath!r} is not a BaseTrigger subclass")
    return cls(**kwargs)


class TaskDeferred(BaseException):
    """Raised by :meth:`BaseOperator.defer`: end this try as ``deferred`` until ``trigger``
    fires, then call ``method_name`` with ``kwargs`` and ``event``.

    A ``BaseException``, as Airflow's: an ``except Exception`` in task code must not
    swallow it.
    """

    def __init__(
        self,
        *,
        trigger: BaseTrigger,
        method_name: str,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(trigger, BaseTrigger):
            raise TypeError(f"defer() needs a BaseTrigger, got {type(trigger).__name__}")
        if not isinstance(method_name, str) or not method_name:
            raise TypeError("defer() needs method_name, the name of the method to resume in")
        if timeout is not None and not isinstance(timeout, timedelta):
            raise TypeError(f"defer() timeout must be a timedelta, got {timeout!r}")
        self.trigger = trigger
        self.method_name = method_name
        self.kwargs = kwargs
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<TaskDeferred trigger={self.trigger!r} method={self.method_name}>"


class TaskDeferralError(Exception):
    """A deferred task's trigger failed (raised, or could not be rebuilt)."""


class TaskDeferralTimeout(TaskDeferralError):  # noqa: N818 - Airflow's name
    """A deferred task's ``timeout`` passed before its trigger fired."""
