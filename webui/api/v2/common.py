"""What every area of ``/api/v2`` shares: its blueprints, paging, collections, ordering.

Airflow 3's lists answer ``{"<items>": [...], "total_entries": n}`` and take ``limit``,
``offset`` and ``order_by`` (repeatable; Loom orders by the first and breaks ties by the
list's default column).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from engine.errors import InvalidInputError
from engine.security.roles import Resource
from engine.services.pagination import Page, ordering, paginate
from webui import db
from webui.api.blueprint import Blueprint
from webui.api.blueprint import collection as collection
from webui.api.schemas.common import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET

API_ROOT = "/api/v2"


def v2_blueprint(
    name: str,
    path: str,
    description: str,
    resource: Resource | None = None,
    *,
    root: str = API_ROOT,
) -> Blueprint:
    """The area ``name`` at ``root + path`` (Loom's blueprint: permission per operation).
    ``name`` is also the first half of its endpoints (``users.create``), which the audit
    log records as the action."""
    return Blueprint(
        name, __name__, url_prefix=root + path, description=description, resource=resource
    )


class V2PageArgs(ma.Schema):
    """Airflow's paging: ``limit`` (cut to 1000), ``offset``, ``order_by`` (``-`` reverses)."""

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=0))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
    order_by = fields.List(
        fields.String(validate=validate.Length(max=64)),
        load_default=None,
        metadata={"description": "Field to order by, prefix - for descending (the first counts)"},
    )


def page(
    key: str,
    stmt: Any,
    args: Mapping[str, Any],
    columns: Mapping[str, Any],
    default: str,
    aliases: Mapping[str, str] | None = None,
    *,
    shown: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """``{key: items, "total_entries": n}``: ``stmt`` ordered by ``args["order_by"]`` (names
    in ``aliases`` are Airflow's for Loom's columns), one page of it; each item passed
    through ``shown`` when given (a masked copy of a secret, say)."""
    order = ordering(columns, order_key(args.get("order_by"), aliases or {}), default)
    result: Page[Any] = paginate(
        session=db.session(),
        stmt=stmt,
        order=order,
        limit=min(int(args["limit"]), MAX_LIMIT),
        offset=int(args["offset"]),
    )
    items = result.items if shown is None else [shown(item) for item in result.items]
    return {key: items, "total_entries": result.total}


def filters_in(args: Mapping[str, Any], declared: type[ma.Schema]) -> dict[str, Any]:
    """The values in ``args`` of the filters ``declared`` holds, by the names Loom's services
    take them by: each field's attribute (its ``data_key`` is the parameter's name in the API),
    so that the schema alone says which parameter is which filter."""
    return {
        field.attribute or name: args[field.attribute or name]
        for name, field in declared().fields.items()
    }


def order_key(order_by: list[str] | None, aliases: Mapping[str, str]) -> str | None:
    """The first of ``order_by`` with Airflow's names mapped to Loom's columns."""
    if not order_by:
        return None
    first = order_by[0].strip()
    if not first:
        raise InvalidInputError("order_by: must name a field")
    descending = first.startswith("-")
    name = first.removeprefix("-")
    name = aliases.get(name, name)
    return f"-{name}" if descending else name


def pattern_filter(pattern: str | None) -> str | None:
    """Airflow's ``*_pattern`` (SQL LIKE) as Loom's substring search: ``%`` is dropped,
    ``_`` stays a literal underscore (dag_ids are full of them)."""
    if pattern is None:
        return None
    text = pattern.replace("%", "")
    return text or None
