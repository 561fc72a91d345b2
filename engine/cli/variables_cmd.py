"""``loom variables``: get, set, list, delete, import and export variables (database)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from engine.cli.common import (
    add_delete_command,
    add_export_command,
    emit_rows,
    import_file,
    loom_context,
    output_option,
)
from engine.errors import InvalidInputError
from engine.models.secrets import StoredVariable
from engine.services import variables as service

COLUMNS = ("key", "description", "is_encrypted")


@click.group("variables")
def group() -> None:
    """Get, set, list, delete, import and export variables."""


@group.command("get")
@click.argument("key")
@click.option("--default", default=None, help="Print this when KEY does not exist.")
@click.option("--json", "as_json", is_flag=True, help="Check the value is JSON; print it so.")
def get(key: str, default: str | None, as_json: bool) -> None:
    """Print the value of variable KEY."""
    context = loom_context()
    with context.session() as session:
        row = service.find_variable(session=session, key=key)
        if row is None and default is None:
            service.require_variable(session=session, key=key)
        value = default if row is None else service.variable_value(context.crypter, row)
    if as_json and value is not None:
        value = json.dumps(_loads(key, value), indent=2)
    click.echo(value)


@group.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--description", default=None, help="What the variable is for.")
@click.option("--json", "as_json", is_flag=True, help="VALUE must be JSON.")
def set_(key: str, value: str, description: str | None, as_json: bool) -> None:
    """Create or replace variable KEY (encrypted when core.fernet_key is set)."""
    if as_json:
        value = json.dumps(_loads(key, value))
    context = loom_context()
    with context.session() as session:
        service.set_variable(
            session=session,
            crypter=context.crypter,
            key=key,
            value=value,
            description=description,
        )
    click.echo(f"variable {key} set")


@group.command("list")
@output_option
def list_(output: str) -> None:
    """List variables: keys and descriptions (values stay in `variables get`)."""
    emit_rows(output, COLUMNS, service.VARIABLES.every, _row)


def _row(row: StoredVariable) -> dict[str, Any]:
    return {"key": row.key, "description": row.description, "is_encrypted": row.is_encrypted}


add_delete_command(group, service.VARIABLES, argument="key")


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(file: Path) -> None:
    """Set every variable of FILE, Airflow's JSON export: {"key": value, ...}."""
    import_file(
        file,
        what="variables",
        load=lambda session, crypter, data: service.import_variables(
            session=session, crypter=crypter, data=data
        ),
    )


add_export_command(  # values in clear
    group,
    what="variables",
    summary='Write every variable to FILE as JSON ({"key": value}; "-" for standard output).',
    dump=lambda session, crypter: service.export_variables(session=session, crypter=crypter),
)


def _loads(where: str, text: str) -> object:
    try:
        return json.loads(text)
    except ValueError as error:
        raise InvalidInputError(f"{where}: not JSON: {error}") from None
