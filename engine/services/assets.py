"""Asset events: writing one (a task's success, the API) and queueing it for the DAGs
scheduled on its asset; reading assets, events and queues for the edges.

Every function takes ``session`` and never commits: an event is written in the caller's
transaction (the worker's finish, with the task's success).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.assets import Asset, AssetAlias
from engine.errors import NotFoundError
from engine.models import (
    AssetAliasAsset,
    AssetAliasModel,
    AssetDagRunQueue,
    AssetEvent,
    AssetModel,
    Dag,
    DagRun,
    DagRunAssetEvent,
    DagScheduleAssetAliasReference,
    DagScheduleAssetReference,
    TaskOutletAssetReference,
)
from engine.models.base import dialect_insert
from engine.services.userinput import check_json

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventSource:
    """Where an event comes from: a task instance, or nothing (an external system)."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int = -1
    alias_name: str | None = None


def record_event(
    *,
    session: Session,
    asset_id: int,
    extra: Mapping[str, Any] | None,
    source: EventSource,
    now: datetime,
) -> AssetEvent:
    """Write an event of asset ``asset_id`` and queue it for every DAG scheduled on the
    asset or on an alias that has stood for it."""
    check_json(dict(extra or {}), field="extra")
    event = AssetEvent(
        asset_id=asset_id,
        extra=dict(extra or {}),
        source_dag_id=source.dag_id,
        source_run_id=source.run_id,
        source_task_id=source.task_id,
        source_map_index=source.map_index,
        source_alias_name=source.alias_name,
        timestamp=now,
    )
    session.add(event)
    session.flush()
    _queue_for_consumers(asset_id, now=now, session=session)
    logger.info("asset %s: event %s from %s", asset_id, event.id, source)
    return event


def record_external_event(
    *, session: Session, asset_id: int, extra: Mapping[str, Any] | None, now: datetime
) -> AssetEvent:
    """An event of an existing asset from outside Loom (the API): NotFoundError when the
    asset does not exist."""
    get_asset(session=session, asset_id=asset_id)
    return record_event(
        session=session, asset_id=asset_id, extra=extra, source=EventSource(), now=now
    )


def _queue_for_consumers(asset_id: int, *, now: datetime, session: Session) -> None:
    by_asset = sa.select(DagScheduleAssetReference.dag_id).where(
        DagScheduleAssetReference.asset_id == asset_id
    )
    by_alias = (
        sa.select(DagScheduleAssetAliasReference.dag_id)
        .join(AssetAliasAsset, AssetAliasAsset.alias_id == DagScheduleAssetAliasReference.alias_id)
        .where(AssetAliasAsset.asset_id == asset_id)
    )
    dag_ids = sorted(set(session.scalars(by_asset.union(by_alias)).all()))
    if not dag_ids:
        return
    rows = [{"asset_id": asset_id, "target_dag_id": d, "created_at": now} for d in dag_ids]
    insert = dialect_insert(session)(AssetDagRunQueue)
    # One row per asset and DAG: a second event before the DAG consumes the first one
    # keeps the first one's time (the consumed events are read from asset_event). An
    # update, not DO NOTHING: it waits for a scheduler consuming the row (which holds it
    # FOR UPDATE) and inserts afresh once that deleted it, so no event goes unqueued.
    session.execute(
        insert.values(rows).on_conflict_do_update(
            index_elements=["asset_id", "target_dag_id"],
            set_={"created_at": AssetDagRunQueue.created_at},
        )
    )


@dataclass
class OutletEvents:
    """What a task set for its outlets: extras by asset, and assets added through aliases."""

    extras: dict[Asset, dict[str, Any]] = field(default_factory=dict)
    through_aliases: list[tuple[str, Asset, dict[str, Any]]] = field(default_factory=list)
    """``(alias name, asset, extra)`` for each ``outlet_events[alias].add(...)``."""


def record_outlet_events(
    *,
    session: Session,
    outlets: Sequence[Asset],
    events: OutletEvents,
    source: EventSource,
    now: datetime,
) -> list[AssetEvent]:
    """The events of a task instance's success: one per outlet asset, one per asset added
    through an alias (its alias remembers it stood for the asset)."""
    assets = [*outlets, *(asset for _, asset, _ in events.through_aliases)]
    ids = asset_ids_of(assets, session=session)
    written = [
        record_event(
            session=session,
            asset_id=ids[asset.key],
            extra=events.extras.get(asset, {}),
            source=source,
            now=now,
        )
        for asset in dict.fromkeys(outlets)
    ]
    for alias_name, asset, extra in events.through_aliases:
        _link_alias(alias_name, ids[asset.key], session=session)
        aliased = EventSource(**{**source.__dict__, "alias_name": alias_name})
        written.append(
            record_event(
                session=session, asset_id=ids[asset.key], extra=extra, source=aliased, now=now
            )
        )
    return written


def _link_alias(alias_name: str, asset_id: int, *, session: Session) -> None:
    alias_id = alias_ids_of([AssetAlias(alias_name)], session=session)[alias_name]
    insert = dialect_insert(session)(AssetAliasAsset)
    session.execute(insert.values(alias_id=alias_id, asset_id=asset_id).on_conflict_do_nothing())


def asset_ids_of(assets: list[Asset], *, session: Session) -> dict[tuple[str, str], int]:
    """The id of each asset by ``(name, uri)``, inserting those not known yet (a second
    parser inserting the same one at once is no error); group and extra follow the
    latest declaration."""
    unique = {a.key: a for a in assets}
    if not unique:
        return {}
    rows = [
        {"name": a.name, "uri": a.uri, "group": a.group, "extra": a.extra} for a in unique.values()
    ]
    insert = dialect_insert(session)(AssetModel)
    session.execute(
        insert.values(rows).on_conflict_do_update(
            index_elements=["name", "uri"],
            set_={"group": insert.excluded.group, "extra": insert.excluded.extra},
        )
    )
    found = session.execute(
        sa.select(AssetModel.name, AssetModel.uri, AssetModel.id).where(
            sa.tuple_(AssetModel.name, AssetModel.uri).in_(list(unique))
        )
    )
    return {(name, uri): asset_id for name, uri, asset_id in found}


def alias_ids_of(aliases: list[AssetAlias], *, session: Session) -> dict[str, int]:
    """The id of each alias by name, inserting those not known yet."""
    unique = {a.name: a for a in aliases}
    if not unique:
        return {}
    insert = dialect_insert(session)(AssetAliasModel)
    rows = [{"name": a.name, "group": a.group} for a in unique.values()]
    session.execute(insert.values(rows).on_conflict_do_nothing(index_elements=["name"]))
    found = session.execute(
        sa.select(AssetAliasModel.name, AssetAliasModel.id).where(
            AssetAliasModel.name.in_(list(unique))
        )
    )
    return {row.name: row.id for row in found}


# -- reading ----------------------------------------------------------------------------


def get_asset(*, session: Session, asset_id: int) -> AssetModel:
    found = session.get(AssetModel, asset_id)
    if found is None:
        raise NotFoundError(f"asset {asset_id} not found")
    return found


def list_assets(*, session: Session, limit: int, offset: int) -> tuple[list[AssetModel], int]:
    total = session.scalar(sa.select(sa.func.count()).select_from(AssetModel)) or 0
    rows = session.scalars(
        sa.select(AssetModel).order_by(AssetModel.name, AssetModel.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def list_events(
    *,
    session: Session,
    asset_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AssetEvent], int]:
    """Events, newest first (of one asset when ``asset_id`` is given)."""
    where = [] if asset_id is None else [AssetEvent.asset_id == asset_id]
    total = session.scalar(sa.select(sa.func.count()).select_from(AssetEvent).where(*where)) or 0
    rows = session.scalars(
        sa.select(AssetEvent)
        .where(*where)
        .order_by(AssetEvent.timestamp.desc(), AssetEvent.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def producers(*, session: Session, asset_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """``(dag_id, task_id)`` of the tasks updating each asset, of active DAGs."""
    found: dict[int, list[tuple[str, str]]] = {}
    rows = session.execute(
        sa.select(
            TaskOutletAssetReference.asset_id,
            TaskOutletAssetReference.dag_id,
            TaskOutletAssetReference.task_id,
        )
        .join(Dag, Dag.dag_id == TaskOutletAssetReference.dag_id)
        .where(TaskOutletAssetReference.asset_id.in_(list(asset_ids)), Dag.is_active)
        .order_by(TaskOutletAssetReference.dag_id, TaskOutletAssetReference.task_id)
    )
    for asset_id, dag_id, task_id in rows:
        found.setdefault(asset_id, []).append((dag_id, task_id))
    return found


def described(
    assets: Sequence[AssetModel], *, session: Session, visible: Collection[str] | None
) -> list[dict[str, Any]]:
    """Assets as the API and the UI show them (Airflow's fields), with the tasks that update
    them and the DAGs scheduled on them, among the DAGs in ``visible`` (None: all)."""
    ids = [a.id for a in assets]
    made = producers(session=session, asset_ids=ids)
    used = consumers(session=session, asset_ids=ids)
    return [
        {
            "id": asset.id,
            "name": asset.name,
            "uri": asset.uri,
            "group": asset.group,
            "extra": asset.extra,
            "created_at": asset.created_at,
            "updated_at": asset.updated_at,
            "producing_tasks": [
                {"dag_id": d, "task_id": t}
                for d, t in made.get(asset.id, [])
                if visible is None or d in visible
            ],
            "scheduled_dags": [
                {"dag_id": d} for d in used.get(asset.id, []) if visible is None or d in visible
            ],
        }
        for asset in assets
    ]


def described_events(events: Sequence[AssetEvent], *, session: Session) -> list[dict[str, Any]]:
    """Events as the API and the UI show them, with their asset and the runs they made."""
    assets = {
        a.id: a
        for a in session.scalars(
            sa.select(AssetModel).where(AssetModel.id.in_({e.asset_id for e in events}))
        )
    }
    runs = run_ids_of(session=session, event_ids=[e.id for e in events])
    return [
        {
            "id": e.id,
            "asset_id": e.asset_id,
            "name": assets[e.asset_id].name,
            "uri": assets[e.asset_id].uri,
            "group": assets[e.asset_id].group,
            "extra": e.extra,
            "source_dag_id": e.source_dag_id,
            "source_run_id": e.source_run_id,
            "source_task_id": e.source_task_id,
            "source_map_index": e.source_map_index,
            "source_alias_name": e.source_alias_name,
            "created_dagruns": runs.get(e.id, []),
            "timestamp": e.timestamp,
        }
        for e in events
    ]


def consumers(*, session: Session, asset_ids: Iterable[int]) -> dict[int, list[str]]:
    """The active DAGs scheduled on each asset."""
    found: dict[int, list[str]] = {}
    rows = session.execute(
        sa.select(DagScheduleAssetReference.asset_id, DagScheduleAssetReference.dag_id)
        .join(Dag, Dag.dag_id == DagScheduleAssetReference.dag_id)
        .where(DagScheduleAssetReference.asset_id.in_(list(asset_ids)), Dag.is_active)
        .order_by(DagScheduleAssetReference.dag_id)
    )
    for asset_id, dag_id in rows:
        found.setdefault(asset_id, []).append(dag_id)
    return found


def queued_events(
    *, session: Session, dag_id: str | None = None, asset_id: int | None = None
) -> list[AssetDagRunQueue]:
    """Queue entries (asset updated, DAG not run for it yet), by DAG or by asset."""
    stmt = sa.select(AssetDagRunQueue).order_by(
        AssetDagRunQueue.target_dag_id, AssetDagRunQueue.asset_id
    )
    if dag_id is not None:
        stmt = stmt.where(AssetDagRunQueue.target_dag_id == dag_id)
    if asset_id is not None:
        stmt = stmt.where(AssetDagRunQueue.asset_id == asset_id)
    return list(session.scalars(stmt).all())


def triggering_events(*, session: Session, dag_run_id: int) -> list[tuple[AssetModel, AssetEvent]]:
    """The events a run consumed, oldest first, with their assets."""
    rows = session.execute(
        sa.select(AssetModel, AssetEvent)
        .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
        .join(DagRunAssetEvent, DagRunAssetEvent.event_id == AssetEvent.id)
        .where(DagRunAssetEvent.dag_run_id == dag_run_id)
        .order_by(AssetEvent.timestamp, AssetEvent.id)
    )
    return [(asset, event) for asset, event in rows]


def events_of_asset(*, session: Session, asset: Asset) -> list[AssetEvent]:
    """Every event of ``asset``, oldest first (what ``inlet_events[asset]`` lists)."""
    return list(
        session.scalars(
            sa.select(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == asset.name, AssetModel.uri == asset.uri)
            .order_by(AssetEvent.timestamp, AssetEvent.id)
        ).all()
    )


def events_through_alias(
    *, session: Session, alias_name: str
) -> list[tuple[AssetModel, AssetEvent]]:
    """Events added through alias ``alias_name``, oldest first."""
    rows = session.execute(
        sa.select(AssetModel, AssetEvent)
        .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
        .where(AssetEvent.source_alias_name == alias_name)
        .order_by(AssetEvent.timestamp, AssetEvent.id)
    )
    return [(asset, event) for asset, event in rows]


def run_ids_of(*, session: Session, event_ids: Iterable[int]) -> dict[int, list[str]]:
    """``dag_id/run_id`` of the runs each event triggered (``created_dagruns``)."""
    found: dict[int, list[str]] = {}
    rows = session.execute(
        sa.select(DagRunAssetEvent.event_id, DagRun.dag_id, DagRun.run_id)
        .join(DagRun, DagRun.id == DagRunAssetEvent.dag_run_id)
        .where(DagRunAssetEvent.event_id.in_(list(event_ids)))
    )
    for event_id, dag_id, run_id in rows:
        found.setdefault(event_id, []).append(f"{dag_id}/{run_id}")
    return found


def alias_names(*, session: Session) -> list[str]:
    return list(session.scalars(sa.select(AssetAliasModel.name).order_by(AssetAliasModel.name)))
