"""Assets: the list (producers and consumers of each), and one asset's page: a graph of
producing tasks → asset → scheduled DAGs, the DAGs queued on it, its recent events."""

from __future__ import annotations

from typing import Any

from flask import render_template

from engine.models import AssetModel
from engine.security.roles import Action, Resource
from engine.services import assetrefs
from engine.services import assets as service
from engine.services.pagination import Page
from webui import db
from webui.auth.scope import visible_dag_ids
from webui.ui.blueprint import bp
from webui.ui.paging import list_page
from webui.ui.session import page

PAGE_SIZE = 50
RECENT_EVENTS = 25


@bp.route("/assets")
@page(Action.READ, Resource.ASSETS)
def assets() -> str:
    listed: Page[AssetModel] = list_page(
        assetrefs.every_asset_query(), order=[AssetModel.name, AssetModel.id], limit=PAGE_SIZE
    )
    rows = _described(list(listed.items))
    return render_template("ui/assets.html", page=listed, assets=rows)


@bp.route("/assets/<int:asset_id>")
@page(Action.READ, Resource.ASSETS)
def asset(asset_id: int) -> str:
    session = db.session()
    [found] = _described([service.get_asset(session=session, asset_id=asset_id)])
    events, total = service.list_events(session=session, asset_id=asset_id, limit=RECENT_EVENTS)
    visible = visible_dag_ids(Action.READ, Resource.DAGS)
    queued = [
        q
        for q in service.queued_events(session=session, asset_id=asset_id)
        if visible is None or q.target_dag_id in visible
    ]
    return render_template(
        "ui/asset.html",
        asset=found,
        events=service.described_events(events, session=session),
        total_events=total,
        queued=queued,
    )


def _described(rows: list[AssetModel]) -> list[dict[str, Any]]:
    visible = visible_dag_ids(Action.READ, Resource.DAGS)
    return service.described(rows, session=db.session(), visible=visible)
