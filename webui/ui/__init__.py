"""The web UI: server-rendered pages (Flask, Jinja2) over the same engine services as the API.

One module per area under :mod:`webui.ui.views`, all on the ``ui`` blueprint of
:mod:`webui.ui.blueprint`. Pages are guarded by :func:`webui.ui.session.page` with the
same permissions as the API operations they mirror; what a role may not do is hidden
(``can()`` in templates) and refused by the server.
"""

from __future__ import annotations

from flask import Flask

from engine.config import Settings


def init_app(app: Flask, settings: Settings) -> None:
    """Register the UI's pages on ``app``."""
    from webui.errors import HTML_ERROR_PAGE
    from webui.ui import views  # noqa: F401 - the views register their routes on the blueprint
    from webui.ui.blueprint import bp, unrouted_error_page
    from webui.ui.plugin_links import plugin_links
    from webui.ui.session import LoomSessionInterface

    app.config["LOOM_SECURE_COOKIES"] = settings.webserver.base_url.lower().startswith("https://")
    app.session_interface = LoomSessionInterface()
    app.jinja_env.globals["plugin_links"] = plugin_links(settings)
    app.extensions[HTML_ERROR_PAGE] = unrouted_error_page
    app.register_blueprint(bp)
