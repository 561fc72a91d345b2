"""The app's OpenAPI document and its UI routes, read without a database (for test
parametrization)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from flask import Flask

from tests.support.settings import make_settings
from tests.webui.world import SECRET
from webui import create_app

METHODS = ("get", "post", "put", "patch", "delete")


@functools.cache
def _app() -> Flask:
    home = Path("/nonexistent-loom-home")
    settings = make_settings(
        "sqlite:///:memory:", home, dags_folder=home / "dags", secret_key=SECRET
    )
    return create_app({"TESTING": True, "LOOM_SETTINGS": settings})


@functools.cache
def openapi(version: str = "v2") -> dict[str, Any]:
    """The document ``/api/{version}/openapi.json`` serves."""
    url = f"/api/{version}/openapi.json"
    document: dict[str, Any] = _app().test_client().get(url).get_json()
    return document


def operations(version: str = "v2") -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, operation) of the document."""
    return [
        (method, path, item[method])
        for path, item in openapi(version)["paths"].items()
        for method in METHODS
        if method in item
    ]


def ui_routes() -> list[tuple[str, str, frozenset[str]]]:
    """Every (endpoint, method, argument names) of the web UI's routes (GET and POST)."""
    return [
        (rule.endpoint, method, frozenset(rule.arguments))
        for rule in _app().url_map.iter_rules()
        if rule.endpoint.startswith("ui.")
        for method in sorted((rule.methods or set()) & {"GET", "POST"})
    ]
