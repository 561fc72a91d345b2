"""What one user may do: the union of their roles' permissions, each with its DAG scope.

A role whose ``dag_tags`` is empty grants its permissions on every DAG; one with tags
grants them only on DAGs carrying at least one of those tags. Two roles granting the
same permission add up: the scope is the union, and "every DAG" wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from engine.models import Role
from engine.security.roles import ALL_PERMISSIONS, Action, Resource

DagScope = frozenset[str] | None
"""Tags a permission is limited to; None: every DAG."""

DAG_RESOURCES: frozenset[Resource] = frozenset(
    {
        Resource.DAGS,
        Resource.DAG_RUNS,
        Resource.TASK_INSTANCES,
        Resource.TASK_LOGS,
        Resource.XCOM,
        Resource.IMPORT_ERRORS,
        Resource.DEAD_LETTERS,
        Resource.NOTIFICATIONS,
    }
)
"""Resources that belong to a DAG, and so follow a role's ``dag_tags``."""


@dataclass(frozen=True)
class Access:
    """The permissions of one user, each mapped to its DAG scope."""

    grants: Mapping[tuple[str, str], DagScope]

    def allows(self, action: Action, resource: Resource) -> bool:
        """True when some role grants ``action`` on ``resource`` (on some DAGs at least)."""
        return (action.value, resource.value) in self.grants

    def dag_scope(self, action: Action, resource: Resource) -> DagScope:
        """The tags ``action`` on ``resource`` is limited to; None for every DAG.

        Only meaningful when :meth:`allows` is true; resources that belong to no DAG
        are never limited.
        """
        if resource not in DAG_RESOURCES:
            return None
        return self.grants.get((action.value, resource.value), frozenset())

    def allows_dag(self, action: Action, resource: Resource, tags: Iterable[str]) -> bool:
        """True when ``action`` on ``resource`` is allowed for a DAG carrying ``tags``."""
        if not self.allows(action, resource):
            return False
        scope = self.dag_scope(action, resource)
        return scope is None or not scope.isdisjoint(tags)

    def is_unscoped_admin(self) -> bool:
        """True when every permission of the catalogue is granted, on every DAG."""
        return all(self.allows(a, r) and self.dag_scope(a, r) is None for a, r in ALL_PERMISSIONS)


Grant = tuple[Sequence[str] | None, str, str]
"""One permission a role grants: ``(the role's dag_tags, action, resource)``."""


def access_of(roles: Iterable[Role]) -> Access:
    """The combined :class:`Access` of ``roles``."""
    return access_from(
        (role.dag_tags, permission.action, permission.resource)
        for role in roles
        for permission in role.permissions
    )


def access_from(grants: Iterable[Grant]) -> Access:
    """The combined :class:`Access` of ``grants`` (as read straight from the database)."""
    combined: dict[tuple[str, str], DagScope] = {}
    for tags, action, resource in grants:
        scope: DagScope = frozenset(tags) if tags else None
        key = (action, resource)
        combined[key] = _union(combined[key], scope) if key in combined else scope
    return Access(combined)


def _union(a: DagScope, b: DagScope) -> DagScope:
    if a is None or b is None:
        return None
    return a | b
