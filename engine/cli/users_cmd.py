"""``loom users``: create, list, disable and reset the password of users."""

from __future__ import annotations

import sys
from typing import Any

import click

from engine.cli.common import emit_rows, loom_context, output_option
from engine.models import User
from engine.security.users import (
    create_user,
    list_users,
    require_user,
    set_active,
    set_password,
)

COLUMNS = ("username", "email", "roles", "active", "created_at")


@click.group("users")
def group() -> None:
    """Create, list and disable users; reset passwords."""


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
    emit_rows(output, COLUMNS, lambda session: list_users(session=session), _row)


@group.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disable a user: no more sign-ins, and their tokens stop working at once."""
    _set_active(username, active=False)


@group.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Enable a disabled user again."""
    _set_active(username, active=True)


def _set_active(username: str, *, active: bool) -> None:
    with loom_context().session() as session:
        set_active(
            session=session, user=require_user(session=session, username=username), active=active
        )
    click.echo(f"{'enabled' if active else 'disabled'} user {username}")


@group.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def reset_password(username: str, password_stdin: bool) -> None:
    """Set a new password (and unlock the account); the user's tokens stop working."""
    password = _read_password(password_stdin)
    with loom_context().session() as session:
        user = require_user(session=session, username=username)
        set_password(session=session, user=user, password=password)
    click.echo(f"password of {username} reset")


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
