"""Per-DAG access: a role limited to some tags sees only DAGs carrying one of them, in
lists as in single objects. A DAG outside the user's scope answers 404, as if absent.

The one home of DAG scope for the API and the web UI alike. :func:`visible_dag_ids` and
:func:`check_dag` use the permission the current view declared (``@requires`` in the
API, ``page`` in the UI) unless they are given one; :func:`allows_dag` answers for one
DAG and any permission (what a page shows besides its main object).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from flask import g

from engine.errors import ConflictError, NotFoundError
from engine.models import Dag
from engine.security.roles import Action, Resource
from engine.services.daglist import dag_ids_tagged
from webui import db
from webui.auth.rbac import current_access


def visible_dag_ids(
    action: Action | None = None, resource: Resource | None = None
) -> set[str] | None:
    """Ids of the DAGs ``action`` on ``resource`` (default: the current view's permission)
    reaches for the signed-in user; None: every DAG."""
    action, resource = _permission(action, resource)
    scope = current_access().dag_scope(action, resource)
    if scope is None:
        return None
    return set(dag_ids_tagged(session=db.session(), tags=scope))


def check_dag(dag_id: str) -> Dag:
    """The DAG, when it exists and the current view's permission reaches it; else 404."""
    dag = db.session().get(Dag, dag_id)
    action, resource = _permission()
    if dag is None or not allows_dag(dag, action, resource):
        raise NotFoundError(f"no DAG {dag_id!r}")
    return dag


def check_reached_dags(dag_ids: Iterable[str]) -> None:
    """Refuse (409) an operation that reached DAGs outside the user's scope, as a clear
    does through an ExternalTaskMarker, without naming them; the caller has not committed,
    so nothing changes."""
    action, resource = _permission()
    for dag_id in set(dag_ids):
        dag = db.session().get(Dag, dag_id)
        if dag is None or not allows_dag(dag, action, resource):
            raise ConflictError(
                "this reaches a DAG you may not change (through an ExternalTaskMarker); "
                "nothing was changed"
            )


def allows_dag(dag: Dag, action: Action, resource: Resource) -> bool:
    """Whether the signed-in user may ``action`` ``resource`` of ``dag`` (its tags' scope)."""
    return current_access().allows_dag(action, resource, dag.tags or ())


def _permission(
    action: Action | None = None, resource: Resource | None = None
) -> tuple[Action, Resource]:
    if action is not None and resource is not None:
        return action, resource
    return cast("tuple[Action, Resource]", g.loom_permission)
