"""``loom connections``: add, get, list, delete, import and export connections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from engine.authoring.connection import Connection
from engine.cli.common import (
    add_delete_command,
    add_export_command,
    emit,
    emit_rows,
    import_file,
    loom_context,
    output_option,
)
from engine.config.masking import MASK
from engine.errors import InvalidInputError
from engine.models.secrets import StoredConnection
from engine.services import connections as service

COLUMNS = ("conn_id", "conn_type", "host", "port", "login", "schema", "description")


@click.group("connections")
def group() -> None:
    """Add, get, list, delete, import and export connections."""


@group.command("add")
@click.argument("conn_id")
@click.option("--conn-uri", default=None, help="The connection in Airflow's URI form.")
@click.option("--conn-json", default=None, help="The connection in Airflow's JSON form.")
@click.option("--conn-type", default=None)
@click.option("--conn-host", default=None)
@click.option("--conn-login", default=None)
@click.option("--conn-password", default=None)
@click.option("--conn-schema", default=None)
@click.option("--conn-port", default=None)
@click.option("--conn-extra", default=None, help="Extra fields, a JSON object.")
@click.option("--conn-description", default=None)
def add(conn_id: str, conn_uri: str | None, conn_json: str | None, **fields: Any) -> None:
    """Add connection CONN_ID from --conn-uri, --conn-json or the --conn-* fields."""
    # --conn-host is Connection's host; --conn-type stays conn_type, as Airflow names it.
    given = {k if k == "conn_type" else k.removeprefix("conn_"): v for k, v in fields.items() if v}
    description = given.pop("description", None)
    if sum(bool(x) for x in (conn_uri, conn_json, given)) != 1:
        raise InvalidInputError("give one of --conn-uri, --conn-json or --conn-type and fields")
    if conn_uri:
        conn = Connection(conn_id=conn_id, uri=conn_uri, description=description)
    elif conn_json:
        conn = Connection.from_json(conn_id, conn_json)
    else:
        conn = Connection(conn_id=conn_id, description=description, **given)
    if description is not None:
        conn.description = description
    context = loom_context()
    with context.session() as session:
        service.save_connection(session=session, crypter=context.crypter, conn=conn)
    click.echo(f"connection {conn_id} added")


@group.command("get")
@click.argument("conn_id")
@output_option
def get(conn_id: str, output: str) -> None:
    """Show connection CONN_ID, its URI included (password in clear, as Airflow does)."""
    context = loom_context()
    with context.session() as session:
        row = service.require_connection(session=session, conn_id=conn_id)
        conn = service.as_connection(context.crypter, row)
    emit({"conn_id": conn_id, **conn.to_dict(), "uri": conn.get_uri()}, output)


@group.command("list")
@output_option
def list_(output: str) -> None:
    """List connections (passwords and extras are not shown)."""
    emit_rows(output, COLUMNS, service.CONNECTIONS.every, _row)


def _row(row: StoredConnection) -> dict[str, Any]:
    shown = {col: getattr(row, col) for col in COLUMNS}
    return shown | {"password": MASK if row.password else None}


add_delete_command(group, service.CONNECTIONS, argument="conn_id")


@group.command("test")
@click.argument("conn_id")
def test(conn_id: str) -> None:
    """Test connection CONN_ID, found as tasks find it (environment, secrets backend,
    database): SELECT 1 for a database, a GET of the base URL for HTTP. Exits 1 when
    the test fails."""
    from engine.execution.secrets import get_connection
    from engine.hooks.registry import test_connection

    click.echo(f"Retrieving connection: {conn_id!r}")
    conn = get_connection(conn_id)
    click.echo("Testing...")
    status, message = test_connection(conn)
    if not status:
        click.echo(f"Connection failed!\n{message}", err=True)
        click.get_current_context().exit(1)
    click.echo(f"Connection success! {message}")


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace connections that exist.")
def import_(file: Path, overwrite: bool) -> None:
    """Add the connections of FILE, Airflow's JSON export: {"conn_id": {...} or "uri"}."""
    import_file(
        file,
        what="connections",
        load=lambda session, crypter, data: service.import_connections(
            session=session, crypter=crypter, data=data, overwrite=overwrite
        ),
    )


add_export_command(  # passwords in clear
    group,
    what="connections",
    summary='Write every connection to FILE in Airflow\'s JSON form ("-": standard output).',
    dump=lambda session, crypter: service.export_connections(session=session, crypter=crypter),
)
