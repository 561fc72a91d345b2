"""The UI's pages, one module per area; importing this package registers them all."""

from webui.ui.views import (
    assets,
    audit_log,
    dag,
    dags,
    dead_letters,
    gantt,
    history,
    notifications,
    pools,
    roles,
    runs,
    secrets,
    signin,
    trigger,
    users,
)

__all__ = [
    "assets",
    "audit_log",
    "dag",
    "dags",
    "dead_letters",
    "gantt",
    "history",
    "notifications",
    "pools",
    "roles",
    "runs",
    "secrets",
    "signin",
    "trigger",
    "users",
]
