"""Schemas every area shares: paging arguments, pages of items, plain messages."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from engine.services.userinput import DATE_OUT_OF_RANGE, date_in_range

DEFAULT_LIMIT = 100
"""Items per page when ``limit`` is not given."""
MAX_LIMIT = 1000
"""Largest page: a larger ``limit`` is cut to this."""
MAX_OFFSET = 1_000_000_000


class DateTime(fields.AwareDateTime):
    """An aware ISO 8601 date and time from a client, within the range every edge accepts
    (:mod:`engine.services.userinput`): a date at the calendar's ends is a 422, not an overflow."""

    def _deserialize(self, value: object, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed: datetime = super()._deserialize(value, attr, data, **kwargs)
        if not date_in_range(parsed):
            raise ma.ValidationError(DATE_OUT_OF_RANGE)
        return parsed


class FullMatch(validate.Validator):
    """The whole value matches ``pattern`` (marshmallow's ``Regexp`` matches a prefix)."""

    def __init__(self, pattern: re.Pattern[str], error: str) -> None:
        self.pattern = pattern
        self.problem = error

    def __call__(self, value: str) -> str:
        if not self.pattern.fullmatch(value):
            raise ma.ValidationError(self.problem)
        return value


class PageArgs(ma.Schema):
    """``limit`` (cut to 1000), ``offset`` and ``order_by`` (a field, ``-`` to reverse)."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1),
        metadata={"description": f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})"},
    )
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
    order_by = fields.String(
        load_default=None,
        validate=validate.Length(max=64),
        metadata={"description": "Field to order by; prefix - for descending"},
    )


@functools.cache
def page_of(item: type[ma.Schema]) -> type[ma.Schema]:
    """The schema of a page of ``item``: ``items``, ``total``, ``limit``, ``offset``."""
    name = item.__name__.removesuffix("Schema") + "PageSchema"
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "total": fields.Integer(required=True, metadata={"description": "Items in all pages"}),
            "limit": fields.Integer(required=True),
            "offset": fields.Integer(required=True),
        },
        name=name,
    )


class MessageSchema(ma.Schema):
    """A short confirmation."""

    message = fields.String(required=True)


def csv_or_list(values: list[str] | None) -> list[str] | None:
    """Query values given repeated (``?state=a&state=b``) or comma-separated (``a,b``)."""
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]
