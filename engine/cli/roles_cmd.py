"""``loom roles``: the roles, their permissions and DAG tags."""

from __future__ import annotations

from typing import Any

import click

from engine.cli.common import emit_rows, output_option
from engine.models import Role
from engine.security.roles import list_roles

COLUMNS = ("name", "builtin", "dag_tags", "permissions")


@click.group("roles")
def group() -> None:
    """List roles (manage them through the API: /api/v2/roles)."""


@group.command("list")
@output_option
def list_(output: str) -> None:
    """List roles with their permissions (action:resource) and DAG tags."""
    emit_rows(output, COLUMNS, lambda session: list_roles(session=session), _row)


def _row(role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "description": role.description,
        "builtin": role.is_builtin,
        "dag_tags": list(role.dag_tags or []),
        "permissions": [f"{p.action}:{p.resource}" for p in role.permissions],
    }
