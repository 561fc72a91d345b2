"""``chain(a, [b, c], d)``: dependencies along a sequence, as in Airflow."""

from __future__ import annotations

import itertools
from typing import Any

from engine.errors import DagDefinitionError


def chain(*elements: Any) -> None:
    """Link each element to the next. Two adjacent lists must have the same length and
    are linked pairwise; a list next to a single task is linked to it as a whole."""
    for up, down in itertools.pairwise(elements):
        if isinstance(up, list | tuple) and isinstance(down, list | tuple):
            if len(up) != len(down):
                raise DagDefinitionError(
                    f"chain() cannot link lists of different lengths ({len(up)} and {len(down)})"
                )
            for a, b in zip(up, down, strict=True):
                a >> b
        else:
            up >> down
