"""The one place where errors become HTTP responses, all of one JSON shape::

    {"code": 404, "message": "no DAG 'x'", "errors": {"field": ["problem", ...]}}

Loom's own exceptions map by type (:data:`STATUS_BY_ERROR`), request validation (webargs)
gives 422 with the problems by field, malformed JSON 400, a body over the size limit
413, and anything unexpected 500 (logged with its traceback, its details kept out of
the response).
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast

import marshmallow as ma
from flask import Flask, Response, current_app, has_request_context, jsonify, request
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException

from engine.errors import (
    ConflictError,
    IllegalTransitionError,
    InvalidInputError,
    LoomError,
    NotFoundError,
)

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: tuple[tuple[type[LoomError], int], ...] = (
    (NotFoundError, 404),
    (ConflictError, 409),
    (IllegalTransitionError, 409),
    (InvalidInputError, 422),
)
"""Loom errors and their status; the first matching type wins, other Loom errors are 400."""

JSON_PATHS = ("/api/", "/auth/")
"""Paths whose unknown URLs answer in the JSON shape; any other unknown URL gets the UI's
HTML error page (:data:`HTML_ERROR_PAGE`)."""
HTML_ERROR_PAGE = "loom.html_error_page"
"""``app.extensions`` key of the function that renders an HTTP error as the UI's page (the
UI registers it)."""

AIRFLOW_SHAPED = JSON_PATHS
"""Paths whose errors also carry ``detail``, the field Airflow 3's clients read: the API's
(a path under ``/api/`` that no route serves too) and its login beside it."""

_FIELD_MESSAGE = re.compile(r"^([A-Za-z_][\w.]*): (.+)$", re.DOTALL)


class ErrorSchema(ma.Schema):
    """The body of every error response."""

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Problems by field (dotted path for nested fields)"},
    )
    detail = ma.fields.String(
        metadata={"description": "The message again, as Airflow 3 names it (the API only)"}
    )


def error_response(
    code: int, message: str, errors: dict[str, list[str]] | None = None, headers: Any = None
) -> Response:
    """A response of the error shape (on the API, with Airflow 3's ``detail`` too)."""
    body: dict[str, Any] = {"code": code, "message": message, "errors": errors or {}}
    if has_request_context() and request.path.startswith(AIRFLOW_SHAPED):
        body["detail"] = message
    response = jsonify(body)
    response.status_code = code
    if headers:
        response.headers.update(headers)
    return response


def init_app(app: Flask) -> None:
    """Register the handlers on ``app``."""
    app.register_error_handler(LoomError, _loom_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DataError, _data_error)
    app.register_error_handler(IntegrityError, _integrity_error)
    app.register_error_handler(Exception, _unexpected)


def _loom_error(exc: LoomError) -> Response:
    code = next((status for kind, status in STATUS_BY_ERROR if isinstance(exc, kind)), 400)
    message = str(exc)
    match = _FIELD_MESSAGE.match(message)
    errors = {match.group(1): [match.group(2)]} if match and code == 422 else None
    if isinstance(exc, InvalidInputError) and exc.problems:
        errors = exc.problems
    return error_response(code, message, errors)


def _http_error(exc: HTTPException) -> Response:
    html_page = current_app.extensions.get(HTML_ERROR_PAGE)
    if html_page is not None and request.url_rule is None and not _json_path(request.path):
        return cast(Response, html_page(exc))  # a URL no route answers, outside the API
    if isinstance(exc.response, Response):  # built in this shape already (a rate limit's 429)
        return exc.response
    code = exc.code or 500
    data = getattr(exc, "data", None) or {}
    errors = _flatten_validation(data.get("messages") or data.get("errors") or {})
    message = data.get("message") or _describe(exc, errors)
    if code == 400 and "json" in errors:  # webargs' word for a body that is not JSON
        message = "the request body is not valid JSON"
    return error_response(code, message, errors, data.get("headers"))


def _json_path(path: str) -> bool:
    return any(path.startswith(prefix) or path == prefix.rstrip("/") for prefix in JSON_PATHS)


def _describe(exc: HTTPException, errors: dict[str, list[str]]) -> str:
    if errors:
        field, problems = next(iter(errors.items()))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"invalid input: {field}: {problems[0]}{more}"
    return exc.description or exc.name


def _flatten_validation(messages: Any) -> dict[str, list[str]]:
    """webargs' ``{"json": {"a": {"b": ["..."]}}}`` as ``{"a.b": ["..."]}``."""
    flat: dict[str, list[str]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat.setdefault(path or "_request", []).extend(value)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, f"{path}.{index}")
        else:
            flat.setdefault(path or "_request", []).append(str(value))

    if isinstance(messages, dict):
        for location, value in messages.items():
            # Locations (json, query, ...) are not fields, unless the problem is the whole body.
            walk(value, "" if isinstance(value, dict) else str(location))
    else:
        walk(messages, "")
    return flat


def _data_error(exc: DataError) -> Response:
    logger.info("database refused a value: %s", exc.orig)
    return error_response(422, "a value does not fit the database (too long or not valid text)")


def _integrity_error(exc: IntegrityError) -> Response:
    logger.info("database integrity error: %s", exc.orig)
    return error_response(409, "the change conflicts with existing data")


def _unexpected(exc: Exception) -> Response:
    logger.exception("unexpected error while serving a request")
    return error_response(500, "internal server error")
