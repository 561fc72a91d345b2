"""Priority classes, and how a task instance's tries are routed by them.

A leaf module (standard library only), so that the authoring API, the models, the
scheduler, the executors and the workers share one definition of each:

* :class:`PriorityClass` — a task's ``priority``: ``high``, ``default`` or ``low``;
* :func:`queue_name` — the queue of a class (``loom.high``, ...), and :data:`QUEUE_NAMES`,
  the queues in the order workers serve them;
* :data:`QUEUE_PATTERN`, :func:`is_queue_name` — named queues (a task's ``queue="gpu"``
  runs in ``loom.gpu``, served by workers started with ``--queues gpu``);
* :func:`try_job_id` — the id of one try's job (``"{ti_id}:{try_number}"``);
* :data:`DEFAULT_POOL` — the pool whose slots a task takes when it names none.
"""

from __future__ import annotations

import re
from enum import StrEnum


class PriorityClass(StrEnum):
    """Which queue class a task instance runs in; members are listed most urgent first."""

    HIGH = "high"
    DEFAULT = "default"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for ``high``, 1 for ``default``, 2 for ``low``: lower runs first."""
        return list(PriorityClass).index(self)


PRIORITY_CLASSES: tuple[str, ...] = tuple(member.value for member in PriorityClass)
"""The class names, most urgent first: ``("high", "default", "low")``."""

QUEUE_PREFIX = "loom."
"""Every Loom queue name starts with it; ``--queues high`` is short for ``loom.high``."""


def queue_name(priority_class: str) -> str:
    """``loom.<priority_class>``: the queue a task instance of that class runs in."""
    return f"{QUEUE_PREFIX}{priority_class}"


QUEUE_NAMES: tuple[str, ...] = tuple(queue_name(name) for name in PRIORITY_CLASSES)
"""The queues, in the order workers listen to them: ``loom.high``, ``loom.default``,
``loom.low``."""

QUEUE_PATTERN = re.compile(r"[A-Za-z0-9_\-]{1,100}")
"""A named queue (a task's ``queue=``, a worker's ``--queues``): letters, digits, ``_``, ``-``."""


def is_queue_name(name: str) -> bool:
    """True for ``loom.<name>``: a class's queue or a named one (``loom.gpu``)."""
    return name.startswith(QUEUE_PREFIX) and bool(
        QUEUE_PATTERN.fullmatch(name.removeprefix(QUEUE_PREFIX))
    )


DEFAULT_QUEUE = queue_name(PriorityClass.DEFAULT)
"""The queue of a task instance of the ``default`` class."""


def try_job_id(ti_id: int, try_number: int) -> str:
    """``"{ti_id}:{try_number}"``: the same try always has the same job id, which makes a
    submission idempotent per try."""
    return f"{ti_id}:{try_number}"


DEFAULT_POOL = "default_pool"
"""The pool of every task that names none; created with the schema."""
