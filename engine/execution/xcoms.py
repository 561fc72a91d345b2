"""XCom as a task sees it: where values live, and ``xcom_pull``'s shapes (Airflow 3's).

Stores hold values as :func:`engine.authoring.xcomvalues.encode` made them (JSON);
pushing encodes, pulling decodes, so a ``datetime`` or a ``tuple`` comes back as one.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.authoring.xcomvalues import XComValueError, decode, encode

RETURN_VALUE = "return_value"


class XComStore(Protocol):
    """Where XCom values live: memory for ``dags test``, the database for workers.
    Values in and out are encoded (JSON)."""

    def get(self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> Any:
        """The stored value; ``None`` when there is none."""
        ...

    def get_mapped(self, dag_id: str, run_id: str, task_id: str, key: str) -> Sequence[Any]:
        """The values of every instance of a mapped task, by ``map_index`` (lazily)."""
        ...

    def set(
        self, dag_id: str, run_id: str, task_id: str, key: str, value: Any, map_index: int = -1
    ) -> None: ...

    def latest_run_with(
        self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int | None
    ) -> str | None:
        """The newest run, no later than ``run_id`` (by logical date), that has a value of
        ``task_id``'s ``key`` (for instance ``map_index``; None: any instance), for
        ``include_prior_dates``."""
        ...


@dataclass
class MemoryXComStore:
    """XCom values in a dict, for in-process runs (one run: there are no prior dates)."""

    values: dict[tuple[str, str, str, str, int], Any] = field(default_factory=dict)

    def get(self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> Any:
        return self.values.get((dag_id, run_id, task_id, key, map_index))

    def get_mapped(self, dag_id: str, run_id: str, task_id: str, key: str) -> Sequence[Any]:
        found = [
            (k[4], v) for k, v in self.values.items() if k[:4] == (dag_id, run_id, task_id, key)
        ]
        return [v for index, v in sorted(found) if index >= 0]

    def set(
        self, dag_id: str, run_id: str, task_id: str, key: str, value: Any, map_index: int = -1
    ) -> None:
        self.values[(dag_id, run_id, task_id, key, map_index)] = value

    def latest_run_with(
        self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int | None
    ) -> str | None:
        for k in self.values:
            if k[:4] == (dag_id, run_id, task_id, key) and map_index in (None, k[4]):
                return run_id
        return None


class DecodedSequence(Sequence[Any]):
    """A mapped task's values as the task sees them: decoded as they are read, so a lazy
    store sequence stays lazy."""

    def __init__(self, stored: Sequence[Any]) -> None:
        self.stored = stored

    def __len__(self) -> int:
        return len(self.stored)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [decode(v) for v in self.stored[index]]
        return decode(self.stored[index])

    def __iter__(self) -> Iterator[Any]:
        return (decode(v) for v in self.stored)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LazyXComSequence([{len(self)} items])"


def encoded(value: Any, *, what: str) -> Any:
    """``value`` encoded for a store; a ``TypeError`` naming ``what`` when it cannot be."""
    try:
        return encode(value)
    except XComValueError as exc:
        raise TypeError(f"{what} cannot be stored: {exc}") from None


@dataclass(frozen=True)
class PullRequest:
    """One ``xcom_pull`` call's arguments, resolved against the pulling task."""

    dag_id: str
    run_id: str
    key: str
    include_prior_dates: bool
    default: Any
    mapped_task_ids: Container[str]
    same_index_task_ids: frozenset[str] = frozenset()
    """Tasks of the puller's mapped group: without ``map_indexes``, their value at the
    puller's own ``map_index`` (depth-first mapping), not every instance's."""
    map_index: int = -1


def pull(
    store: XComStore,
    request: PullRequest,
    task_ids: str | Iterable[str],
    map_indexes: int | Iterable[int] | None,
) -> Any:
    """Airflow 3's shapes: one task id and no (or one) map index gives a value; a list of
    task ids or of map indexes gives a list (one item per pair); a mapped task without
    ``map_indexes`` gives all its instances' values, lazily (in a list of task ids, they
    are spread into it, as Airflow 3 does)."""
    single_task = isinstance(task_ids, str)
    ids = [task_ids] if isinstance(task_ids, str) else list(task_ids)
    if map_indexes is None:
        found = [_all_of(store, request, tid) for tid in ids]
        if single_task:
            return found[0]
        return [v for tid, item in zip(ids, found, strict=True)
                for v in (item if tid in request.mapped_task_ids else [item])]  # fmt: skip
    indexes = [map_indexes] if isinstance(map_indexes, int) else list(map_indexes)
    values = [_one(store, request, tid, index) for tid in ids for index in indexes]
    return values[0] if single_task and isinstance(map_indexes, int) else values


def _all_of(store: XComStore, request: PullRequest, task_id: str) -> Any:
    if task_id in request.same_index_task_ids and request.map_index >= 0:
        return _one(store, request, task_id, request.map_index)
    if task_id not in request.mapped_task_ids:
        return _one(store, request, task_id, -1)
    run_id = _run_for(store, request, task_id, None)
    if run_id is None:
        return DecodedSequence([])
    return DecodedSequence(store.get_mapped(request.dag_id, run_id, task_id, request.key))


def _one(store: XComStore, request: PullRequest, task_id: str, map_index: int) -> Any:
    run_id = _run_for(store, request, task_id, map_index)
    stored = None if run_id is None else store.get(
        request.dag_id, run_id, task_id, request.key, map_index
    )  # fmt: skip
    return request.default if stored is None else decode(stored)


def _run_for(
    store: XComStore, request: PullRequest, task_id: str, map_index: int | None
) -> str | None:
    if not request.include_prior_dates:
        return request.run_id
    return store.latest_run_with(request.dag_id, request.run_id, task_id, request.key, map_index)
