"""``/assets``: assets, their events (``POST /assets/events`` records one from an external
system), and a DAG's queued events (``/dags/{dag_id}/assets/queuedEvents``).

Producers and consumers are the DAGs the user may read (a role limited to some tags sees
only theirs); the assets and events themselves are global, as in Airflow.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.models import AssetEvent, AssetModel
from engine.security.roles import Action, Resource
from engine.services import assets as service
from engine.services.pagination import order_columns
from engine.timeutil import utcnow
from webui import db
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.assets import (
    AssetEventArgs,
    AssetEventBodySchema,
    AssetEventSchema,
    AssetSchema,
    QueuedEventSchema,
)
from webui.auth.scope import check_dag, visible_dag_ids

blp = api_blueprint("assets", "", "Assets", Resource.ASSETS)

ASSET_ORDER = order_columns(AssetModel.id, AssetModel.name, AssetModel.uri, AssetModel.group)
EVENT_ORDER = order_columns(AssetEvent.id, AssetEvent.timestamp, AssetEvent.asset_id)


def asset_rows(assets: list[AssetModel]) -> list[dict[str, Any]]:
    visible = visible_dag_ids(Action.READ, Resource.DAGS)
    return service.described(assets, session=db.session(), visible=visible)


def event_rows(events: list[AssetEvent]) -> list[dict[str, Any]]:
    return service.described_events(events, session=db.session())


def _page(page: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": rows, "total": page.total, "limit": page.limit, "offset": page.offset}


@blp.listing("/assets", AssetSchema)
def list_assets(args: dict[str, Any]) -> Any:
    """List assets, with the tasks that update them and the DAGs scheduled on them."""
    page = paged(sa.select(AssetModel), args, ASSET_ORDER, "name")
    return _page(page, asset_rows(list(page.items)))


@blp.operation("GET", "/assets/<int:asset_id>", Action.READ, returns=AssetSchema)
def get_asset(asset_id: int) -> Any:
    """Get one asset."""
    return asset_rows([service.get_asset(session=db.session(), asset_id=asset_id)])[0]


@blp.listing("/assets/events", AssetEventSchema, AssetEventArgs)
def list_events(args: dict[str, Any]) -> Any:
    """List asset events, newest first (of one asset with ``asset_id``)."""
    stmt = sa.select(AssetEvent)
    if args.get("asset_id") is not None:
        stmt = stmt.where(AssetEvent.asset_id == args["asset_id"])
    page = paged(stmt, args, EVENT_ORDER, "-timestamp")
    return _page(page, event_rows(list(page.items)))


@blp.operation(
    "POST", "/assets/events", Action.CREATE, body=AssetEventBodySchema, returns=AssetEventSchema
)
def create_event(body: dict[str, Any]) -> Any:
    """Record an event of an asset from outside Loom: the DAGs scheduled on it are queued."""
    event = service.record_external_event(
        session=db.session(), asset_id=body["asset_id"], extra=body["extra"], now=utcnow()
    )
    db.commit()
    return event_rows([event])[0]


@blp.operation(
    "GET", "/dags/<dag_id>/assets/queuedEvents", Action.READ, returns=QueuedEventSchema(many=True)
)
def queued_events(dag_id: str) -> Any:
    """The assets updated since the DAG last consumed them (what its next run waits on)."""
    check_dag(dag_id)
    rows = service.queued_events(session=db.session(), dag_id=dag_id)
    return [
        {"dag_id": r.target_dag_id, "asset_id": r.asset_id, "created_at": r.created_at}
        for r in rows
    ]
