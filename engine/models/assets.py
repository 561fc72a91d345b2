"""Assets and their events, with Airflow's table names.

* ``asset`` / ``asset_alias``: what DAG files declare (registered by the parser);
  ``asset_alias_asset`` the assets an alias has stood for at run time.
* ``asset_event``: one update of an asset (a task's success, or a POST to the API).
* ``dag_schedule_asset_reference`` / ``dag_schedule_asset_alias_reference``: the DAGs
  scheduled on an asset or alias; ``task_outlet_asset_reference`` the tasks updating one.
* ``asset_dag_run_queue``: for each consuming DAG, the assets with an event it has not
  consumed yet (one row per asset and DAG, however many events).
* ``dagrun_asset_event``: the events a run consumed (its ``triggering_asset_events``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, MappedColumn, mapped_column

import engine.models.runs  # noqa: F401  # dagrun_asset_event's foreign key names dag_run
from engine.models.base import Base, JSONType, UtcDateTime, created_at_column, updated_at_column
from engine.models.dags import ID_LENGTH

ASSET_TEXT_LENGTH = 1500
"""Width of asset names, URIs and groups (Airflow's limit)."""


def _key_to(target: str, column_type: sa.types.TypeEngine[Any] | None = None) -> MappedColumn[Any]:
    """A part of the primary key that refers to ``target`` and is deleted with it (its type
    the target's, unless ``column_type`` is given)."""
    key = sa.ForeignKey(target, ondelete="CASCADE")
    if column_type is None:
        return mapped_column(key, primary_key=True)
    return mapped_column(column_type, key, primary_key=True)


class AssetModel(Base):
    """An asset some DAG declares, known by ``(name, uri)``."""

    __tablename__ = "asset"
    __table_args__ = (sa.UniqueConstraint("name", "uri"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(ASSET_TEXT_LENGTH))
    uri: Mapped[str] = mapped_column(sa.String(ASSET_TEXT_LENGTH))
    group: Mapped[str] = mapped_column(sa.String(ASSET_TEXT_LENGTH), default="asset")
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class AssetAliasModel(Base):
    """An alias some DAG declares; the assets it stood for are in ``asset_alias_asset``."""

    __tablename__ = "asset_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(ASSET_TEXT_LENGTH), unique=True)
    group: Mapped[str] = mapped_column(sa.String(ASSET_TEXT_LENGTH), default="asset")


class AssetAliasAsset(Base):
    """An asset an alias has stood for (an event added through it)."""

    __tablename__ = "asset_alias_asset"

    alias_id: Mapped[int] = _key_to("asset_alias.id")
    asset_id: Mapped[int] = _key_to("asset.id")


class AssetEvent(Base):
    """One update of an asset."""

    __tablename__ = "asset_event"
    __table_args__ = (sa.Index("ix_asset_event_asset_id_timestamp", "asset_id", "timestamp"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("asset.id", ondelete="CASCADE"))
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    source_dag_id: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    source_run_id: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    source_task_id: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    source_map_index: Mapped[int] = mapped_column(default=-1, server_default="-1")
    source_alias_name: Mapped[str | None] = mapped_column(sa.String(ASSET_TEXT_LENGTH))
    """The alias the task added the event through, if it did."""
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime())


class DagScheduleAssetReference(Base):
    """DAG ``dag_id`` is scheduled on asset ``asset_id`` (alone or in a condition)."""

    __tablename__ = "dag_schedule_asset_reference"

    asset_id: Mapped[int] = _key_to("asset.id")
    dag_id: Mapped[str] = _key_to("dag.dag_id", sa.String(ID_LENGTH))


class DagScheduleAssetAliasReference(Base):
    """DAG ``dag_id`` is scheduled on alias ``alias_id``."""

    __tablename__ = "dag_schedule_asset_alias_reference"

    alias_id: Mapped[int] = _key_to("asset_alias.id")
    dag_id: Mapped[str] = _key_to("dag.dag_id", sa.String(ID_LENGTH))


class TaskOutletAssetReference(Base):
    """Task ``task_id`` of ``dag_id`` updates asset ``asset_id`` when it succeeds."""

    __tablename__ = "task_outlet_asset_reference"

    asset_id: Mapped[int] = _key_to("asset.id")
    dag_id: Mapped[str] = _key_to("dag.dag_id", sa.String(ID_LENGTH))
    task_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)


class AssetDagRunQueue(Base):
    """Asset ``asset_id`` has an event DAG ``target_dag_id`` has not consumed yet, since
    ``created_at`` (the time of the first such event)."""

    __tablename__ = "asset_dag_run_queue"

    asset_id: Mapped[int] = _key_to("asset.id")
    target_dag_id: Mapped[str] = _key_to("dag.dag_id", sa.String(ID_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DagRunAssetEvent(Base):
    """Run ``dag_run_id`` was triggered by (consumed) event ``event_id``."""

    __tablename__ = "dagrun_asset_event"

    dag_run_id: Mapped[int] = _key_to("dag_run.id")
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("asset_event.id", ondelete="CASCADE"), primary_key=True, index=True
    )
