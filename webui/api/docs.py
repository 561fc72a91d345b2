"""The API's interactive documentation at ``/api/v2/docs``: Swagger UI from the
``swagger-ui-bundle`` package, served by the webserver itself.

Nothing is loaded from another site, so the page works offline and the
Content-Security-Policy (:mod:`webui.headers`) holds: the page has no inline script,
``api-docs.js`` (in webui/static) starts Swagger UI on the OpenAPI document, and
Swagger UI's files come from ``/api/v2/docs/assets/``. The page is public, like the
OpenAPI document; "Authorize" takes a token from ``POST /auth/token``.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import NotFound

bp = Blueprint("api_docs", __name__, url_prefix="/api/v2/docs")

ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})
"""The files of the package the page uses; nothing else of the package is served."""


@bp.get("")
def page() -> str:
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))


@bp.get("/assets/<filename>")
def asset(filename: str) -> Response:
    if filename not in ASSETS:
        raise NotFound(f"no Swagger UI file {filename!r}")
    return send_from_directory(str(swagger_ui_path), filename)
