"""``loom users``: create and list the users of the web UI and the API."""

from __future__ import annotations

import sys
from typing import Any

import click

from engine.cli.common import emit, loom_context, output_option
from engine.models import User
from engine.security.users import create_user, list_users

COLUMNS = ("username", "email", "roles", "active", "created_at")


@click.group("users")
def group() -> None:
    """Create and list users."""


@group.command("create")
@click.option("--username", required=True, help="Name to sign in with.")
@click.option(
    "--role", "roles", multiple=True, required=True, help="Role to grant; repeat for several."
)
@click.option("--email", default=None, help="E-mail address.")
@click.option("--full-name", default=None, help="Name to show.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(
    username: str,
    roles: tuple[str, ...],
    email: str | None,
    full_name: str | None,
    password_stdin: bool,
) -> None:
    """Create a user with one or more roles (the password is asked for unless piped)."""
    password = _read_password(password_stdin)
    with loom_context().session() as session:
        user = create_user(
            session=session,
            username=username,
            password=password,
            role_names=list(roles),
            email=email,
            full_name=full_name,
        )
        click.echo(f"created user {user.username} ({', '.join(r.name for r in user.roles)})")


@group.command("list")
@output_option
def list_(output: str) -> None:
    """List users with their roles."""
    with loom_context().session() as session:
        rows = [_row(user) for user in list_users(session=session)]
    emit(rows, output, COLUMNS)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _row(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "roles": [role.name for role in user.roles],
        "active": user.is_active,
        "created_at": user.created_at,
    }
