"""``loom assets``: list assets (with their producers and consumers) and their events."""

from __future__ import annotations

import click

from engine.cli.common import emit, loom_context, output_option


@click.group("assets")
def group() -> None:
    """List assets and their events."""


@group.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@output_option
def list_(limit: int, output: str) -> None:
    """List assets: name, URI, the tasks that update them, the DAGs scheduled on them."""
    from engine.services import assets as service

    with loom_context().session() as session:
        rows, _ = service.list_assets(session=session, limit=limit, offset=0)
        shown = service.described(rows, session=session, visible=None)
    if output != "json":
        shown = [
            {
                "id": a["id"],
                "name": a["name"],
                "uri": a["uri"],
                "producers": ", ".join(
                    f"{p['dag_id']}.{p['task_id']}" for p in a["producing_tasks"]
                ),
                "consumers": ", ".join(d["dag_id"] for d in a["scheduled_dags"]),
            }
            for a in shown
        ]
    emit(
        shown, output, ("id", "name", "uri", "producers", "consumers") if output != "json" else None
    )


@group.command("events")
@click.option("--asset-id", type=int, default=None, help="Only this asset's events.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@output_option
def events(asset_id: int | None, limit: int, output: str) -> None:
    """List asset events, newest first."""
    from engine.services import assets as service

    with loom_context().session() as session:
        if asset_id is not None:
            service.get_asset(session=session, asset_id=asset_id)
        rows, _ = service.list_events(session=session, asset_id=asset_id, limit=limit)
        shown = service.described_events(rows, session=session)
    columns = ("id", "timestamp", "name", "source_dag_id", "source_task_id", "extra")
    emit(shown, output, columns)
