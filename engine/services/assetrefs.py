"""Asset reads in Airflow 3's public API terms: filtered lists of assets and events, what
refers to them (aliases, the last event, the runs an event made), the DAGs that produce an
asset, and dropping queued events.

Every function takes ``session`` and never commits.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import (
    AssetAliasAsset,
    AssetAliasModel,
    AssetDagRunQueue,
    AssetEvent,
    AssetModel,
    Dag,
    DagRun,
    DagRunAssetEvent,
    DagScheduleAssetReference,
    TaskOutletAssetReference,
)
from engine.services.pagination import order_columns

ASSET_ORDER = order_columns(
    AssetModel.id, AssetModel.name, AssetModel.uri, AssetModel.created_at, AssetModel.updated_at
)
EVENT_ORDER = order_columns(
    AssetEvent.id,
    AssetEvent.timestamp,
    AssetEvent.source_dag_id,
    AssetEvent.source_task_id,
    AssetEvent.source_run_id,
    AssetEvent.source_map_index,
)
ALIAS_ORDER = order_columns(AssetAliasModel.id, AssetAliasModel.name)


def _contains(column: Any, text: str | None) -> Any:
    return sa.true() if not text else column.ilike(f"%{text}%", escape="\\")


def asset_query(
    *,
    name_pattern: str | None = None,
    uri_pattern: str | None = None,
    dag_ids: Collection[str] | None = None,
    only_active: bool = True,
) -> sa.Select[Any]:
    """Assets by name and URI substring; of ``dag_ids`` (producing or scheduled on them);
    ``only_active``: declared by some active DAG (an asset no DAG file declares any more
    is kept with its history, as Airflow keeps it, but listed only when asked)."""
    stmt = sa.select(AssetModel).where(
        _contains(AssetModel.name, name_pattern), _contains(AssetModel.uri, uri_pattern)
    )
    if dag_ids is not None:
        stmt = stmt.where(_referenced_by(Dag.dag_id.in_(list(dag_ids))))
    if only_active:
        stmt = stmt.where(_referenced_by(Dag.is_active))
    return stmt


def every_asset_query() -> sa.Select[Any]:
    """Every asset, those no active DAG declares too; unordered (the caller pages them)."""
    return sa.select(AssetModel)


def alias_query() -> sa.Select[Any]:
    """Every asset alias, unordered (the caller pages them)."""
    return sa.select(AssetAliasModel)


def _referenced_by(dag_condition: Any) -> Any:
    produced = (
        sa.select(TaskOutletAssetReference.asset_id)
        .join(Dag, Dag.dag_id == TaskOutletAssetReference.dag_id)
        .where(dag_condition)
    )
    scheduled = (
        sa.select(DagScheduleAssetReference.asset_id)
        .join(Dag, Dag.dag_id == DagScheduleAssetReference.dag_id)
        .where(dag_condition)
    )
    return AssetModel.id.in_(produced.union(scheduled))


@dataclass(frozen=True)
class EventFilter:
    """What ``GET /assets/events`` narrows by (None: no condition)."""

    asset_id: int | None = None
    source_dag_id: str | None = None
    source_task_id: str | None = None
    source_run_id: str | None = None
    source_map_index: int | None = None
    name_pattern: str | None = None
    timestamp_gte: datetime | None = None
    timestamp_gt: datetime | None = None
    timestamp_lte: datetime | None = None
    timestamp_lt: datetime | None = None


def event_query(filters: EventFilter) -> sa.Select[Any]:
    """Events matching every condition of ``filters``."""
    stmt = sa.select(AssetEvent)
    equal = {
        AssetEvent.asset_id: filters.asset_id,
        AssetEvent.source_dag_id: filters.source_dag_id,
        AssetEvent.source_task_id: filters.source_task_id,
        AssetEvent.source_run_id: filters.source_run_id,
        AssetEvent.source_map_index: filters.source_map_index,
    }
    stmt = stmt.where(*(column == value for column, value in equal.items() if value is not None))
    bounds = (
        (filters.timestamp_gte, AssetEvent.timestamp.__ge__),
        (filters.timestamp_gt, AssetEvent.timestamp.__gt__),
        (filters.timestamp_lte, AssetEvent.timestamp.__le__),
        (filters.timestamp_lt, AssetEvent.timestamp.__lt__),
    )
    stmt = stmt.where(*(compare(value) for value, compare in bounds if value is not None))
    if filters.name_pattern:
        named = sa.select(AssetModel.id).where(_contains(AssetModel.name, filters.name_pattern))
        stmt = stmt.where(AssetEvent.asset_id.in_(named))
    return stmt


def aliases_of(*, session: Session, asset_ids: Iterable[int]) -> dict[int, list[AssetAliasModel]]:
    """The aliases each asset has been added through."""
    found: dict[int, list[AssetAliasModel]] = {}
    rows = session.execute(
        sa.select(AssetAliasAsset.asset_id, AssetAliasModel)
        .join(AssetAliasModel, AssetAliasModel.id == AssetAliasAsset.alias_id)
        .where(AssetAliasAsset.asset_id.in_(list(asset_ids)))
        .order_by(AssetAliasModel.name)
    )
    for asset_id, alias in rows:
        found.setdefault(asset_id, []).append(alias)
    return found


def last_events(*, session: Session, asset_ids: Iterable[int]) -> dict[int, tuple[int, datetime]]:
    """``(event id, timestamp)`` of each asset's latest event."""
    latest = (
        sa.select(AssetEvent.asset_id, sa.func.max(AssetEvent.id).label("event_id"))
        .where(AssetEvent.asset_id.in_(list(asset_ids)))
        .group_by(AssetEvent.asset_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(AssetEvent.asset_id, AssetEvent.id, AssetEvent.timestamp).join(
            latest, latest.c.event_id == AssetEvent.id
        )
    )
    return {asset_id: (event_id, when) for asset_id, event_id, when in rows}


def run_references(
    *, session: Session, event_ids: Iterable[int]
) -> dict[int, list[dict[str, Any]]]:
    """The runs each event was consumed by, as Airflow describes them; ``triggering``: the
    event is the latest one its run consumed (the one that completed its condition)."""
    ids = list(event_ids)
    consumed = (
        sa.select(DagRunAssetEvent.dag_run_id, sa.func.max(DagRunAssetEvent.event_id).label("last"))
        .where(
            DagRunAssetEvent.dag_run_id.in_(
                sa.select(DagRunAssetEvent.dag_run_id).where(DagRunAssetEvent.event_id.in_(ids))
            )
        )
        .group_by(DagRunAssetEvent.dag_run_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(DagRunAssetEvent.event_id, DagRun, consumed.c.last)
        .join(DagRun, DagRun.id == DagRunAssetEvent.dag_run_id)
        .join(consumed, consumed.c.dag_run_id == DagRunAssetEvent.dag_run_id)
        .where(DagRunAssetEvent.event_id.in_(ids))
        .order_by(DagRun.id)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for event_id, run, last in rows:
        found.setdefault(event_id, []).append(_run_reference(run, triggering=event_id == last))
    return found


def _run_reference(run: DagRun, *, triggering: bool) -> dict[str, Any]:
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "state": run.state.value,
        "logical_date": run.logical_date,
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        # A run not started yet has no start; Airflow's reference requires one.
        "start_date": run.start_date or run.queued_at or run.logical_date,
        "end_date": run.end_date,
        "partition_key": None,
        "triggering": triggering,
    }


def producing_dag_ids(*, session: Session, asset_id: int) -> list[str]:
    """The active DAGs with a task that updates the asset."""
    return list(
        session.scalars(
            sa.select(TaskOutletAssetReference.dag_id)
            .join(Dag, Dag.dag_id == TaskOutletAssetReference.dag_id)
            .where(TaskOutletAssetReference.asset_id == asset_id, Dag.is_active)
            .distinct()
            .order_by(TaskOutletAssetReference.dag_id)
        )
    )


def delete_queued_events(
    *,
    session: Session,
    dag_id: str | None = None,
    asset_id: int | None = None,
    before: datetime | None = None,
) -> int:
    """Drop queue entries (of a DAG, of an asset, older than ``before``): the DAGs stop
    waiting on those updates. Returns how many were dropped."""
    conditions = []
    if dag_id is not None:
        conditions.append(AssetDagRunQueue.target_dag_id == dag_id)
    if asset_id is not None:
        conditions.append(AssetDagRunQueue.asset_id == asset_id)
    if before is not None:
        conditions.append(AssetDagRunQueue.created_at < before)
    result = session.execute(sa.delete(AssetDagRunQueue).where(*conditions))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
