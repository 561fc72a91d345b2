"""The five values that name one try of one task instance, carried together.

A claim, a plugin's event, a task's handle, a dead letter and its published message all
name the try they are about the same way; :func:`try_key` copies those names from
whatever holds them (a task instance row, a claim), typed, so that ``**try_key(ti)``
checks against the constructor it fills.
"""

from __future__ import annotations

from typing import Protocol, TypedDict


class TryKey(TypedDict):
    """Which try: of which instance (``map_index``, -1 unless mapped) of which task of which
    run of which DAG."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int


class HasInstanceKey(Protocol):
    """Anything that knows which task instance it is about."""

    @property
    def dag_id(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def task_id(self) -> str: ...


class HasTryKey(HasInstanceKey, Protocol):
    """Anything that knows which try it is about."""

    @property
    def map_index(self) -> int: ...

    @property
    def try_number(self) -> int: ...


def try_key(source: HasTryKey) -> TryKey:
    """The try ``source`` is about."""
    return TryKey(
        dag_id=source.dag_id,
        run_id=source.run_id,
        task_id=source.task_id,
        map_index=source.map_index,
        try_number=source.try_number,
    )
