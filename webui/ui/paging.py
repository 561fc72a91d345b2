"""One page of a list page's rows, from the ``offset`` the pager links carry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import request

from engine.services.pagination import Page, paginate
from webui import db

T = TypeVar("T")


def offset_arg() -> int:
    """The request's ``offset`` (the pager links carry it); a negative one reads as 0."""
    return max(request.args.get("offset", 0, type=int), 0)


def list_page(stmt: sa.Select[Any], *, order: Sequence[Any], limit: int) -> Page[T]:
    """``limit`` rows of ``stmt`` from the request's ``offset``."""
    return paginate(session=db.session(), stmt=stmt, order=order, limit=limit, offset=offset_arg())
