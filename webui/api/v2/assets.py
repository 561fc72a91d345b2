"""``/api/v2/assets``: assets, aliases, asset events (``POST`` records one from outside),
materializing an asset, and the queued events of an asset or a DAG, in Airflow 3's shapes.

Producers and consumers are the DAGs the user may read; assets and events themselves are
global, as in Airflow. Loom keeps no timestamps on the references between DAGs and assets:
a reference shows its asset's ``created_at`` and ``updated_at`` (docs/decisions.md).
"""

from __future__ import annotations

from typing import Any

from flask import g

from engine.errors import ConflictError, NotFoundError
from engine.models import AssetAliasModel, AssetEvent, AssetModel
from engine.security.roles import Action, Resource
from engine.services import assetrefs
from engine.services import assets as service
from engine.services.runs import trigger_dag
from engine.timeutil import utcnow
from webui import db
from webui.api.v2.common import (
    V2PageArgs,
    collection,
    filters_in,
    page,
    pattern_filter,
    v2_blueprint,
)
from webui.api.v2.schemas_assets import (
    AliasSchema,
    AssetArgs,
    AssetEventArgs,
    AssetEventBodySchema,
    AssetEventFilters,
    AssetEventSchema,
    AssetSchema,
    QueuedEventArgs,
    QueuedEventSchema,
)
from webui.api.v2.schemas_runs import DagRunSchema
from webui.auth import check_dag, visible_dag_ids

blp = v2_blueprint("assets", "/assets", "Asset", Resource.ASSETS)
dag_queues = v2_blueprint("dag_asset_queues", "/dags/<dag_id>/assets", "Asset", Resource.ASSETS)

QUEUED = collection("queued_events", QueuedEventSchema)


def _assets(found: list[AssetModel]) -> list[dict[str, Any]]:
    session = db.session()
    ids = [asset.id for asset in found]
    rows = service.described(
        found, session=session, visible=visible_dag_ids(Action.READ, Resource.DAGS)
    )
    aliases = assetrefs.aliases_of(session=session, asset_ids=ids)
    last = assetrefs.last_events(session=session, asset_ids=ids)
    for row, asset in zip(rows, found, strict=True):
        stamps = {"created_at": asset.created_at, "updated_at": asset.updated_at}
        row["producing_tasks"] = [{**ref, **stamps} for ref in row["producing_tasks"]]
        row["scheduled_dags"] = [{**ref, **stamps} for ref in row["scheduled_dags"]]
        row["consuming_tasks"] = []
        row["watchers"] = []
        row["aliases"] = aliases.get(asset.id, [])
        event = last.get(asset.id)
        row["last_asset_event"] = None if event is None else {"id": event[0], "timestamp": event[1]}
    return rows


def _events(found: list[AssetEvent]) -> list[dict[str, Any]]:
    session = db.session()
    rows = service.described_events(found, session=session)
    runs = assetrefs.run_references(session=session, event_ids=[event.id for event in found])
    for row in rows:
        row["created_dagruns"] = runs.get(row["id"], [])
        row["partition_key"] = None
    return rows


@blp.listing("", "assets", AssetSchema, query=AssetArgs)
def list_assets(args: dict[str, Any]) -> Any:
    """List assets (``only_active``: declared by an active DAG), with their producers,
    the DAGs scheduled on them, their aliases and their latest event."""
    stmt = assetrefs.asset_query(
        name_pattern=pattern_filter(args["name_pattern"]),
        uri_pattern=pattern_filter(args["uri_pattern"]),
        dag_ids=args["dag_ids"],
        only_active=args["only_active"],
    )
    result = page("assets", stmt, args, assetrefs.ASSET_ORDER, "id")
    result["assets"] = _assets(result["assets"])
    return result


@blp.listing("/aliases", "asset_aliases", AliasSchema, query=V2PageArgs)
def list_aliases(args: dict[str, Any]) -> Any:
    """List asset aliases."""
    return page("asset_aliases", assetrefs.alias_query(), args, assetrefs.ALIAS_ORDER, "id")


@blp.operation("GET", "/aliases/<int:asset_alias_id>", Action.READ, returns=AliasSchema)
def get_alias(asset_alias_id: int) -> Any:
    """Get one alias."""
    alias = db.session().get(AssetAliasModel, asset_alias_id)
    if alias is None:
        raise NotFoundError(f"no asset alias {asset_alias_id}")
    return alias


@blp.listing("/events", "asset_events", AssetEventSchema, query=AssetEventArgs)
def list_events(args: dict[str, Any]) -> Any:
    """List asset events (newest first unless ``order_by`` says otherwise)."""
    filters = assetrefs.EventFilter(**filters_in(args, AssetEventFilters))
    stmt = assetrefs.event_query(filters)
    result = page("asset_events", stmt, args, assetrefs.EVENT_ORDER, "-id")
    result["asset_events"] = _events(result["asset_events"])
    return result


@blp.operation(
    "POST", "/events", Action.CREATE, body=AssetEventBodySchema, returns=AssetEventSchema
)
def create_event(body: dict[str, Any]) -> Any:
    """Record an event of an asset from outside Loom: the DAGs scheduled on it are queued."""
    event = service.record_external_event(
        session=db.session(), asset_id=body["asset_id"], extra=body["extra"], now=utcnow()
    )
    db.commit()
    return _events([event])[0]


@blp.operation("GET", "/<int:asset_id>", Action.READ, returns=AssetSchema)
def get_asset(asset_id: int) -> Any:
    """Get one asset."""
    return _assets([service.get_asset(session=db.session(), asset_id=asset_id)])[0]


@blp.operation(
    "POST", "/<int:asset_id>/materialize", Action.CREATE, resource=Resource.DAG_RUNS,
    returns=DagRunSchema,
)  # fmt: skip
def materialize(asset_id: int) -> Any:
    """Trigger a run of the one DAG that updates the asset."""
    session = db.session()
    service.get_asset(session=session, asset_id=asset_id)
    producers = assetrefs.producing_dag_ids(session=session, asset_id=asset_id)
    if not producers:
        raise NotFoundError(f"no active DAG updates asset {asset_id}")
    if len(producers) > 1:
        raise ConflictError(
            f"asset {asset_id} is updated by more than one DAG ({', '.join(producers)}): "
            "trigger the one you mean"
        )
    check_dag(producers[0])
    run = trigger_dag(
        session=session, dag_id=producers[0], now=utcnow(), triggered_by=g.loom_user.username
    )
    db.commit()
    return run


def _queued(rows: list[Any]) -> dict[str, Any]:
    visible = visible_dag_ids(Action.READ, Resource.DAGS)
    shown = [
        {
            "dag_id": row.target_dag_id,
            "dag_display_name": row.target_dag_id,
            "asset_id": row.asset_id,
            "created_at": row.created_at,
        }
        for row in rows
        if visible is None or row.target_dag_id in visible
    ]
    return {"queued_events": shown, "total_entries": len(shown)}


def _found(rows: list[Any], what: str) -> list[Any]:
    if not rows:
        raise NotFoundError(f"no queued event {what}")
    return rows


@blp.operation(
    "GET", "/<int:asset_id>/queuedEvents", Action.READ, query=QueuedEventArgs, returns=QUEUED
)
def asset_queued_events(args: dict[str, Any], asset_id: int) -> Any:
    """The DAGs waiting on the asset's latest updates."""
    rows = service.queued_events(session=db.session(), asset_id=asset_id)
    return _queued(_found(_before(rows, args), f"for asset {asset_id}"))


@blp.operation(
    "DELETE", "/<int:asset_id>/queuedEvents", Action.DELETE, query=QueuedEventArgs, status=204
)
def delete_asset_queued_events(args: dict[str, Any], asset_id: int) -> None:
    """Stop the DAGs waiting on the asset's latest updates (all of them must be DAGs the
    user may change)."""
    _delete(args, asset_id=asset_id)


@dag_queues.operation("GET", "/queuedEvents", Action.READ, query=QueuedEventArgs, returns=QUEUED)
def dag_queued_events(args: dict[str, Any], dag_id: str) -> Any:
    """The assets the DAG's next run waits on, updated since its last run."""
    check_dag(dag_id)
    rows = service.queued_events(session=db.session(), dag_id=dag_id)
    return _queued(_found(_before(rows, args), f"for DAG {dag_id!r}"))


@dag_queues.operation("DELETE", "/queuedEvents", Action.DELETE, query=QueuedEventArgs, status=204)
def delete_dag_queued_events(args: dict[str, Any], dag_id: str) -> None:
    """Drop the updates the DAG's next run would have consumed."""
    check_dag(dag_id)
    _delete(args, dag_id=dag_id)


@dag_queues.operation(
    "GET", "/<int:asset_id>/queuedEvents", Action.READ, query=QueuedEventArgs,
    returns=QueuedEventSchema,
)  # fmt: skip
def dag_asset_queued_event(args: dict[str, Any], dag_id: str, asset_id: int) -> Any:
    """Whether the DAG waits on an update of the asset."""
    check_dag(dag_id)
    rows = service.queued_events(session=db.session(), dag_id=dag_id, asset_id=asset_id)
    what = f"of asset {asset_id} for DAG {dag_id!r}"
    return _queued(_found(_before(rows, args), what))["queued_events"][0]


@dag_queues.operation(
    "DELETE", "/<int:asset_id>/queuedEvents", Action.DELETE, query=QueuedEventArgs, status=204
)
def delete_dag_asset_queued_event(args: dict[str, Any], dag_id: str, asset_id: int) -> None:
    """Drop the DAG's queued update of the asset."""
    check_dag(dag_id)
    _delete(args, dag_id=dag_id, asset_id=asset_id)


def _before(rows: list[Any], args: dict[str, Any]) -> list[Any]:
    before = args["before"]
    return [row for row in rows if before is None or row.created_at < before]


def _delete(
    args: dict[str, Any], *, dag_id: str | None = None, asset_id: int | None = None
) -> None:
    session = db.session()
    if dag_id is None:
        rows = service.queued_events(session=session, asset_id=asset_id)
        targets = {row.target_dag_id for row in _before(rows, args)}
        if not targets:
            raise NotFoundError(f"no queued event for asset {asset_id}")
        allowed = visible_dag_ids(Action.EDIT, Resource.DAGS)
        if allowed is not None and not targets <= allowed:
            raise ConflictError(
                "some DAGs waiting on this asset are outside what you may change; nothing "
                "was dropped (drop them per DAG instead)"
            )
        assetrefs.delete_queued_events(session=session, asset_id=asset_id, before=args["before"])
    else:
        dropped = assetrefs.delete_queued_events(
            session=session, dag_id=dag_id, asset_id=asset_id, before=args["before"]
        )
        if not dropped:
            raise NotFoundError(f"no queued event for DAG {dag_id!r}")
    db.commit()
