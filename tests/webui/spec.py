"""The OpenAPI document of the app, read without a database (for test parametrization)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from tests.webui.world import make_settings
from webui import create_app

METHODS = ("get", "post", "put", "patch", "delete")


@functools.cache
def openapi() -> dict[str, Any]:
    """The document ``/api/v1/openapi.json`` serves."""
    home = Path("/nonexistent-loom-home")
    settings = make_settings("sqlite:///:memory:", home, home / "dags")
    app = create_app({"TESTING": True, "LOOM_SETTINGS": settings})
    document: dict[str, Any] = app.test_client().get("/api/v1/openapi.json").get_json()
    return document


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, operation) of the document."""
    return [
        (method, path, item[method])
        for path, item in openapi()["paths"].items()
        for method in METHODS
        if method in item
    ]
