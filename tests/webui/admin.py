"""What the admin page tests share: the world's dead letter, pools, users and roles, read
back from the database, and the parts of a page they look at."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from engine.models import DeadLetter, Pool, Role, TaskInstance, User
from webui import db

NEW_PASSWORD = "a-brand-new-password"
FAILED_ONCE = ("failed", 1, 1)
"""The world's ``extract`` task instance: state, try number, max tries."""


def in_db(app: Flask, read: Callable[[Any], Any]) -> Any:
    """What ``read(session)`` finds in the app's database now."""
    with app.app_context():
        return read(db.session())


def letter_state(app: Flask) -> str:
    return str(in_db(app, lambda s: s.scalars(sa.select(DeadLetter.state)).one()))


def letter_id(app: Flask) -> int:
    return int(in_db(app, lambda s: s.scalars(sa.select(DeadLetter.id)).one()))


def extract(app: Flask) -> tuple[str, int, int]:
    def read(session: Any) -> tuple[str, int, int]:
        ti = session.scalars(
            sa.select(TaskInstance).where(
                TaskInstance.dag_id == "example", TaskInstance.task_id == "extract"
            )
        ).one()
        return str(ti.state), ti.try_number, ti.max_tries

    return in_db(app, read)  # type: ignore[no-any-return]


def pools_of(app: Flask) -> dict[str, tuple[int, str | None]]:
    rows = in_db(app, lambda s: s.execute(sa.select(Pool.name, Pool.slots, Pool.description)).all())
    return {name: (slots, description) for name, slots, description in rows}


def user_of(app: Flask, username: str) -> dict[str, Any] | None:
    def describe(user: User) -> dict[str, Any]:
        return {
            "roles": [r.name for r in user.roles],
            "active": user.is_active,
            "email": user.email,
            "hash": user.password_hash,
            "token_version": user.token_version,
        }

    return _described(app, sa.select(User).where(User.username == username), describe)


def role_of(app: Flask, name: str) -> dict[str, Any] | None:
    def describe(role: Role) -> dict[str, Any]:
        return {
            "permissions": sorted(f"{p.action}:{p.resource}" for p in role.permissions),
            "tags": list(role.dag_tags),
            "description": role.description,
        }

    return _described(app, sa.select(Role).where(Role.name == name), describe)


def _described(
    app: Flask, stmt: Any, describe: Callable[[Any], dict[str, Any]]
) -> dict[str, Any] | None:
    """``describe`` of the one row ``stmt`` selects, or None when there is none."""

    def read(session: Any) -> dict[str, Any] | None:
        found = session.scalars(stmt).one_or_none()
        return None if found is None else describe(found)

    return in_db(app, read)  # type: ignore[no-any-return]


def row_of(html: str, marker: str) -> str:
    """The table row carrying ``marker`` (a data attribute)."""
    match = re.search(rf"<tr {marker}>(.*?)</tr>", html, re.DOTALL)
    assert match is not None, f"no row {marker}"
    return match.group(1)


def field_error(html: str, field_id: str) -> str:
    """The problem a form shows under its field ``field_id``."""
    error = re.search(rf'id="{field_id}-error">([^<]*)<', html)
    assert error is not None, f"no problem shown under {field_id}"
    return error.group(1)


def text_of(reply: Any) -> str:
    return str(reply.get_data(as_text=True))


# -- dead letters -----------------------------------------------------------------------------
