"""Registering what a parsed DAG declares about assets: the assets and aliases themselves,
the ones its schedule names, and the ones its tasks update.

Read from the serialized DAG (no DAG code runs here). A DAG's references are replaced at
each parse; assets stay when no DAG names them any more (their events are history).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.assets import Asset, AssetAlias
from engine.authoring.serialization import SerializedDAG
from engine.authoring.timetables.assets import asset_condition
from engine.models import (
    DagScheduleAssetAliasReference,
    DagScheduleAssetReference,
    TaskOutletAssetReference,
)
from engine.services.assets import alias_ids_of, asset_ids_of


def register_assets(data: dict[str, Any], *, session: Session) -> None:
    """Make the assets and aliases of a serialized DAG exist and record its references."""
    dag = SerializedDAG.from_dict(data)
    condition = asset_condition(dag.schedule)
    scheduled = list(condition.iter_assets()) if condition else []
    aliases = list(condition.iter_aliases()) if condition else []
    outlets = [(task_id, item) for task_id, task in dag.tasks.items() for item in task.outlets]
    declared = (
        scheduled
        + [item for _, item in outlets]
        + [item for task in dag.tasks.values() for item in task.inlets]
    )
    asset_ids = asset_ids_of([a for a in declared if isinstance(a, Asset)], session=session)
    alias_ids = alias_ids_of(
        [a for a in [*aliases, *declared] if isinstance(a, AssetAlias)], session=session
    )
    _replace_references(dag.dag_id, session=session)
    session.add_all(
        DagScheduleAssetReference(asset_id=asset_ids[a.key], dag_id=dag.dag_id)
        for a in _unique(scheduled)
    )
    session.add_all(
        DagScheduleAssetAliasReference(alias_id=alias_ids[a.name], dag_id=dag.dag_id)
        for a in _unique(aliases)
    )
    session.add_all(
        TaskOutletAssetReference(asset_id=asset_ids[a.key], dag_id=dag.dag_id, task_id=task_id)
        for task_id, a in _unique(outlets)
        if isinstance(a, Asset)
    )


def _unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def _replace_references(dag_id: str, *, session: Session) -> None:
    for model in (DagScheduleAssetReference, DagScheduleAssetAliasReference):
        session.execute(sa.delete(model).where(model.dag_id == dag_id))
    session.execute(
        sa.delete(TaskOutletAssetReference).where(TaskOutletAssetReference.dag_id == dag_id)
    )
