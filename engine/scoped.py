"""A context variable's value for the length of a block.

A leaf module (standard library only): the authoring API sets the clock timetables plan
with, a task's context, how cron strings read and a try's virtualenv settings this way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def scoped(variable: ContextVar[T], value: T) -> Iterator[None]:
    """Inside the block ``variable`` holds ``value``; after it, what it held before (even
    when the block raised)."""
    token = variable.set(value)
    try:
        yield
    finally:
        variable.reset(token)
