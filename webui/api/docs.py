"""The APIs' interactive documentation at ``/api/v1/docs`` and ``/api/v2/docs``: Swagger UI
from the ``swagger-ui-bundle`` package, served by the webserver itself.

Nothing is loaded from another site, so the pages work offline and the
Content-Security-Policy (:mod:`webui.headers`) holds: a page has no inline script,
``api-docs.js`` (in webui/static) starts Swagger UI on the API's OpenAPI document, and
Swagger UI's files come from ``<docs>/assets/``. The pages are public, like the OpenAPI
documents; "Authorize" takes a token from ``POST /auth/token`` (or ``/api/v1/auth/login``).
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import NotFound

ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})
"""The files of the package the page uses; nothing else of the package is served."""


def docs_blueprint(name: str, url_prefix: str, spec_endpoint: str) -> Blueprint:
    """Swagger UI at ``url_prefix`` on the OpenAPI document of ``spec_endpoint``."""
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix)

    @blueprint.get("")
    def page() -> str:
        return render_template(
            "api/docs.html", spec_url=url_for(spec_endpoint), assets=f"{name}.asset"
        )

    @blueprint.get("/assets/<filename>")
    def asset(filename: str) -> Response:
        if filename not in ASSETS:
            raise NotFound(f"no Swagger UI file {filename!r}")
        return send_from_directory(str(swagger_ui_path), filename)

    return blueprint


bp = docs_blueprint("api_docs", "/api/v1/docs", "api-docs.openapi_json")
bp_v2 = docs_blueprint("api_v2_docs", "/api/v2/docs", "v2-api-docs.openapi_json")
