"""Assets as a running task sees them: ``outlet_events``, ``inlet_events`` and
``triggering_asset_events`` in its context, with Airflow 3's shapes.

* ``outlet_events[asset].extra`` is the ``extra`` of the event the task's success writes
  for an outlet; ``outlet_events[alias].add(Asset(...), extra=...)`` adds an event for an
  asset through an alias in the outlets. The worker writes them with the success
  (:func:`outlet_events_of`, :mod:`workers.finish`), in the same transaction.
* ``inlet_events[asset]`` lists the asset's events, oldest first (``[-1]`` is the latest);
  ``inlet_events[alias]`` those added through the alias. Read when first used.
* Both also answer ``for_asset(name=..., uri=...)`` and ``for_asset_alias(name=...)``, as
  Airflow's do (templates use them: ``{{ inlet_events.for_asset(uri='s3://x')[-1] }}``).
* ``triggering_asset_events[asset]``: the events that made this run (an asset-triggered
  run), by asset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, overload

from engine.authoring.assets import Asset, AssetAlias, BaseAsset, normalize_uri
from engine.errors import InvalidInputError

if TYPE_CHECKING:
    from engine.models import AssetEvent, AssetModel
    from engine.services.assets import OutletEvents


@dataclass(frozen=True)
class AssetEventInfo:
    """One asset event, as tasks read it (Airflow's ``AssetEvent`` fields)."""

    id: int
    asset: Asset
    extra: dict[str, Any]
    timestamp: datetime
    source_dag_id: str | None
    source_run_id: str | None
    source_task_id: str | None
    source_map_index: int
    source_alias_name: str | None

    @classmethod
    def of(cls, asset: AssetModel, event: AssetEvent) -> AssetEventInfo:
        return cls(
            id=event.id,
            asset=Asset(asset.name, asset.uri, group=asset.group, extra=asset.extra),
            extra=dict(event.extra or {}),
            timestamp=event.timestamp,
            source_dag_id=event.source_dag_id,
            source_run_id=event.source_run_id,
            source_task_id=event.source_task_id,
            source_map_index=event.source_map_index,
            source_alias_name=event.source_alias_name,
        )


@dataclass
class OutletEventAccessor:
    """``outlet_events[key]``: the event's ``extra``, and for an alias the assets added."""

    key: BaseAsset
    extra: dict[str, Any] = field(default_factory=dict)
    added: list[tuple[Asset, dict[str, Any]]] = field(default_factory=list)

    def add(self, asset: Asset, extra: Mapping[str, Any] | None = None) -> None:
        """Add an event for ``asset`` through this alias."""
        if not isinstance(self.key, AssetAlias):
            raise TypeError(f"add() is for an AssetAlias's events, not {self.key!r}'s")
        if not isinstance(asset, Asset):
            raise TypeError(f"outlet_events[{self.key!r}].add() takes an Asset, got {asset!r}")
        self.added.append((asset, dict(extra or {})))


_V = TypeVar("_V")


class _ByNameOrUri(Mapping[BaseAsset, _V]):
    """``for_asset``/``for_asset_alias``: a task's outlet or inlet found by name or uri."""

    _role = ""

    def for_asset(self, *, name: str | None = None, uri: str | None = None) -> _V:
        if name is None and uri is None:
            raise TypeError("for_asset() needs name= or uri=")
        uri = None if uri is None else normalize_uri(uri)
        for key in self:
            if isinstance(key, Asset) and name in (None, key.name) and uri in (None, key.uri):
                return self[key]
        wanted = ", ".join(f"{k}={v!r}" for k, v in (("name", name), ("uri", uri)) if v)
        raise KeyError(f"no asset with {wanted} among {self._role}s of this task")

    def for_asset_alias(self, *, name: str) -> _V:
        for key in self:
            if isinstance(key, AssetAlias) and key.name == name:
                return self[key]
        raise KeyError(f"no asset alias named {name!r} among {self._role}s of this task")


class OutletEventAccessors(_ByNameOrUri[OutletEventAccessor]):
    """``outlet_events``: one accessor per outlet of the task."""

    _role = "outlet"

    def __init__(self, outlets: Sequence[BaseAsset]) -> None:
        self._accessors = {item: OutletEventAccessor(item) for item in outlets}

    def __getitem__(self, key: BaseAsset) -> OutletEventAccessor:
        try:
            return self._accessors[key]
        except KeyError:
            raise KeyError(f"{key!r} is not an outlet of this task") from None

    def __iter__(self) -> Iterator[BaseAsset]:
        return iter(self._accessors)

    def __len__(self) -> int:
        return len(self._accessors)


def check_outlet_events(accessors: object) -> None:
    """Raise InvalidInputError naming the outlet whose event ``extra`` is not JSON (the
    try then fails: its events cannot be written with its success)."""
    import json

    from engine.services.userinput import check_json

    if not isinstance(accessors, OutletEventAccessors):
        return
    for key, accessor in accessors.items():
        for extra in [accessor.extra, *(extra for _, extra in accessor.added)]:
            field = f"outlet_events[{key!r}].extra"
            if not isinstance(extra, dict):
                raise InvalidInputError(f"{field} must be a dict, got {type(extra).__name__}")
            try:
                json.dumps(extra)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(f"{field} is not JSON: {exc}") from None
            check_json(extra, field=field)


def outlet_events_of(accessors: object) -> OutletEvents:
    """What the task set on its ``outlet_events``, for the worker's finish to write."""
    from engine.services.assets import OutletEvents

    found = OutletEvents()
    if not isinstance(accessors, OutletEventAccessors):
        return found
    for key, accessor in accessors.items():
        if isinstance(key, Asset):
            found.extras[key] = dict(accessor.extra)
        elif isinstance(key, AssetAlias):
            found.through_aliases += [(key.name, a, extra) for a, extra in accessor.added]
    return found


class _LazyEvents(Sequence[AssetEventInfo]):
    """A list of events read from the database the first time it is used."""

    def __init__(self, load: Callable[[], list[AssetEventInfo]]) -> None:
        self._load = load
        self._events: list[AssetEventInfo] | None = None

    def _all(self) -> list[AssetEventInfo]:
        if self._events is None:
            self._events = self._load()
        return self._events

    @overload
    def __getitem__(self, index: int) -> AssetEventInfo: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[AssetEventInfo]: ...
    def __getitem__(self, index: int | slice) -> AssetEventInfo | Sequence[AssetEventInfo]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return repr(self._all())


class InletEventAccessors(_ByNameOrUri[Sequence[AssetEventInfo]]):
    """``inlet_events``: the events of each inlet (asset or alias), oldest first."""

    _role = "inlet"

    def __init__(self, inlets: Sequence[BaseAsset], reader: EventReader) -> None:
        self._inlets = list(dict.fromkeys(inlets))
        self._read = reader.inlet

    def __getitem__(self, key: BaseAsset) -> Sequence[AssetEventInfo]:
        if key not in self._inlets:
            raise KeyError(f"{key!r} is not an inlet of this task: add it to inlets=[...]")
        return _LazyEvents(lambda: self._read(key))

    def __iter__(self) -> Iterator[BaseAsset]:
        return iter(self._inlets)

    def __len__(self) -> int:
        return len(self._inlets)


def _read_inlet_events(key: BaseAsset) -> list[AssetEventInfo]:
    from engine.execution.metadata import metadata_session
    from engine.models import AssetModel
    from engine.services.assets import events_of_asset, events_through_alias

    with metadata_session() as session:
        if isinstance(key, AssetAlias):
            rows = events_through_alias(session=session, alias_name=key.name)
            return [AssetEventInfo.of(asset, event) for asset, event in rows]
        assert isinstance(key, Asset)
        events = events_of_asset(session=session, asset=key)
        model = AssetModel(name=key.name, uri=key.uri, group=key.group, extra=key.extra)
        return [AssetEventInfo.of(model, event) for event in events]


def triggering_asset_events(dag_id: str, run_id: str) -> dict[Asset, list[AssetEventInfo]]:
    """The events run ``run_id`` of ``dag_id`` consumed, by asset (oldest first)."""
    import sqlalchemy as sa

    from engine.execution.metadata import metadata_session
    from engine.models import DagRun
    from engine.services.assets import triggering_events

    found: dict[Asset, list[AssetEventInfo]] = {}
    with metadata_session() as session:
        run_pk = session.scalar(
            sa.select(DagRun.id).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        )
        if run_pk is None:
            return found
        for asset, event in triggering_events(session=session, dag_run_id=run_pk):
            info = AssetEventInfo.of(asset, event)
            found.setdefault(info.asset, []).append(info)
    return found


@dataclass(frozen=True)
class EventReader:
    """Where a task's context reads asset events from."""

    inlet: Callable[[BaseAsset], list[AssetEventInfo]]
    """All events of an inlet, oldest first."""
    triggering: Callable[[str, str], dict[Asset, list[AssetEventInfo]]]
    """The events a run (``dag_id``, ``run_id``) consumed, by asset."""


DATABASE_EVENTS = EventReader(_read_inlet_events, triggering_asset_events)
"""A worker's: the metadata database."""

NO_EVENTS = EventReader(lambda key: [], lambda dag_id, run_id: {})
"""``loom dags test``'s (it runs without a database): none recorded."""
