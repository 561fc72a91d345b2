"""The UI's pages, one module per area; importing this package registers them all."""

from webui.ui.views import admin, dag, dags, runs, signin

__all__ = ["admin", "dag", "dags", "runs", "signin"]
