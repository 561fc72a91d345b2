"""A mapped task's expansion as the scheduler sees it: from the serialized spec and the
lengths of upstream values, how many instances it has. No user code runs here.

The spec (``SerializedTask.mapped``) is what :meth:`ExpandInput.serialize
<engine.authoring.mapping.ExpandInput.serialize>` wrote: ``{"kind": "expand", "args":
{name: source}}`` or ``{"kind": "expand_kwargs", "source": source}``; a source is
``{"literal": value}``, ``{"literal_length": n}``, an XCom reference ``{"xcom_arg":
task_id, "key": ..., "path": [...], "map": [names]}`` (``.map()`` keeps the length), or
``{"zip": [sources], "fillvalue": ...}`` (the shortest input, or the longest when a
``fillvalue`` is given), or ``{"concat": [sources]}`` (the inputs' lengths added up).

A task of a mapped task group has ``{"kind": "group", "group_id": ...}``: the group's
spec, serialized once on the group (``SerializedTaskGroup.mapped``), is its expansion
(:meth:`SerializedDAG.expansion_of <engine.authoring.serialization.SerializedDAG.expansion_of>`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

LengthOf = Callable[[str], int | None]
"""The length of an upstream task's return value; None while unknown."""


GROUP = "group"


def group_spec(group_id: str | None) -> dict[str, Any]:
    """The ``mapped`` spec of a task expanded with mapped group ``group_id``."""
    return {"kind": GROUP, "group_id": group_id}


def is_group_spec(spec: dict[str, Any]) -> bool:
    return bool(spec["kind"] == GROUP)


def sources(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The top-level sources of a spec."""
    if spec["kind"] == "expand":
        return list(spec["args"].values())
    return [spec["source"]]


def upstream_task_ids(spec: dict[str, Any]) -> set[str]:
    """The tasks whose return values the expansion reads."""
    return {source["xcom_arg"] for source in _xcom_sources(sources(spec))}


def _xcom_sources(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for source in items:
        if "xcom_arg" in source:
            yield source
        elif "zip" in source or "concat" in source:
            yield from _xcom_sources(source.get("zip") or source["concat"])


def literal_only(spec: dict[str, Any]) -> bool:
    """Whether the length is known when the run is created."""
    return not upstream_task_ids(spec)


def expansion_length(spec: dict[str, Any], length_of: LengthOf) -> int | None:
    """How many instances the mapped task has (a product over several expanded
    arguments); None while an upstream length is unknown."""
    lengths = [_source_length(source, length_of) for source in sources(spec)]
    if any(n is None for n in lengths):
        return None
    return math.prod(n for n in lengths if n is not None)


def _source_length(source: dict[str, Any], length_of: LengthOf) -> int | None:
    if "literal_length" in source:
        return int(source["literal_length"])
    if "literal" in source:
        value = source["literal"]
        return len(value) if isinstance(value, list | dict) else None
    if "xcom_arg" in source:
        return length_of(source["xcom_arg"])
    parts = [_source_length(part, length_of) for part in source.get("zip") or source["concat"]]
    if any(n is None for n in parts):
        return None
    known = [n for n in parts if n is not None]
    if "concat" in source:
        return sum(known)
    return max(known) if "fillvalue" in source else min(known)
