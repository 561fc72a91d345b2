"""Authentication (JWT) and authorization (roles, per-DAG scope) of the API."""

from webui.auth.rbac import authenticated as authenticated
from webui.auth.rbac import current_access as current_access
from webui.auth.rbac import declared_permission as declared_permission
from webui.auth.rbac import public as public
from webui.auth.rbac import refresh_token_required as refresh_token_required
from webui.auth.rbac import requires as requires
from webui.auth.scope import allows_dag as allows_dag
from webui.auth.scope import check_dag as check_dag
from webui.auth.scope import check_reached_dags as check_reached_dags
from webui.auth.scope import visible_dag_ids as visible_dag_ids
from webui.auth.secret_key import check_secret as check_secret
from webui.auth.tokens import init_app as init_app
from webui.auth.tokens import issue_tokens as issue_tokens

__all__ = [
    "allows_dag",
    "authenticated",
    "check_dag",
    "check_reached_dags",
    "check_secret",
    "current_access",
    "declared_permission",
    "init_app",
    "issue_tokens",
    "public",
    "refresh_token_required",
    "requires",
    "visible_dag_ids",
]
