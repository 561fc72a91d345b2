"""What one user may do: the union of their roles' permissions, each with its DAG scope.

A role whose ``dag_tags`` is empty grants its permissions on every DAG; one with tags
grants them only on DAGs carrying at least one of those tags. Two roles granting the
same permission add up: the scope is the union, and "every DAG" wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.models import Role
from engine.security.roles import Action, Resource

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


def access_of(roles: Iterable[Role]) -> Access:
    """The combined :class:`Access` of ``roles``."""
    grants: dict[tuple[str, str], DagScope] = {}
    for role in roles:
        role_scope: DagScope = frozenset(role.dag_tags) if role.dag_tags else None
        for permission in role.permissions:
            key = (permission.action, permission.resource)
            grants[key] = _union(grants[key], role_scope) if key in grants else role_scope
    return Access(grants)


def _union(a: DagScope, b: DagScope) -> DagScope:
    if a is None or b is None:
        return None
    return a | b
