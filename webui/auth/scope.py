"""Per-DAG access: a role limited to some tags sees only DAGs carrying one of them, in
lists as in single objects. A DAG outside the user's scope answers 404, as if absent.

Both helpers use the permission the current view declared with ``@requires``.
"""

from __future__ import annotations

from typing import cast

from flask import g

from engine.errors import NotFoundError
from engine.listing import dag_ids_tagged
from engine.models import Dag
from engine.security.roles import Action, Resource
from webui import db
from webui.auth.rbac import current_access


def visible_dag_ids() -> set[str] | None:
    """Ids of the DAGs the current view's permission reaches; None: every DAG."""
    action, resource = _permission()
    scope = current_access().dag_scope(action, resource)
    if scope is None:
        return None
    return set(dag_ids_tagged(session=db.session(), tags=scope))


def check_dag(dag_id: str) -> Dag:
    """The DAG, when it exists and the current view's permission reaches it; else 404."""
    dag = db.session().get(Dag, dag_id)
    action, resource = _permission()
    if dag is None or not current_access().allows_dag(action, resource, dag.tags or ()):
        raise NotFoundError(f"no DAG {dag_id!r}")
    return dag


def _permission() -> tuple[Action, Resource]:
    return cast("tuple[Action, Resource]", g.loom_permission)
