"""The last-admin guard: some active user always holds every permission on every DAG.

A change to users or roles (disabling or deleting a user, replacing a user's roles,
scoping a role to DAG tags, changing or deleting a role) that would leave no active,
unscoped admin is refused with a ConflictError: 409 in the API and the UI, exit status
1 in the CLI, whoever asks. When there is no such admin before the change (a new
installation), nothing is refused: the guard keeps an admin, it does not demand one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import ConflictError
from engine.models import Permission, Role, User, role_permission, user_role
from engine.security.access import Grant, access_from

LAST_ADMIN = (
    "this change would leave no active Admin who sees every DAG; "
    "first give another active user the Admin role (with no DAG tags)"
)


@contextmanager
def keeping_an_admin(*, session: Session) -> Iterator[None]:
    """Refuse (ConflictError) the change made in the block if it leaves no unscoped admin.

    The change is flushed; the caller's transaction is to be rolled back on the error.
    """
    before = unscoped_admin_ids(session=session)
    yield
    session.flush()
    if before and not unscoped_admin_ids(session=session):
        raise ConflictError(LAST_ADMIN)


def unscoped_admin_ids(*, session: Session) -> set[int]:
    """Ids of the active users who hold every permission on every DAG.

    Read with SQL, not from loaded objects, so that a flushed change (a deleted role, a
    removed role) counts even where an object's collections were loaded before it.
    """
    rows = session.execute(
        sa.select(User.id, Role.dag_tags, Permission.action, Permission.resource)
        .join(user_role, user_role.c.user_id == User.id)
        .join(Role, Role.id == user_role.c.role_id)
        .join(role_permission, role_permission.c.role_id == Role.id)
        .join(Permission, Permission.id == role_permission.c.permission_id)
        .where(User.is_active.is_(True))
    )
    grants: dict[int, list[Grant]] = defaultdict(list)
    for user_id, tags, action, resource in rows:
        grants[user_id].append((tags, action, resource))
    return {user_id for user_id, held in grants.items() if access_from(held).is_unscoped_admin()}
