"""A page of a list endpoint from a filtered SELECT and the parsed paging arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.services.pagination import Page, ordering, paginate
from webui import db
from webui.api.schemas.common import MAX_LIMIT


def paged(
    stmt: Any, args: Mapping[str, Any], columns: Mapping[str, Any], default: str
) -> Page[Any]:
    """``stmt`` ordered by ``args["order_by"]`` (or ``default``), one page of it, and its total."""
    order = ordering(columns, args.get("order_by"), default)
    limit = min(int(args["limit"]), MAX_LIMIT)
    return paginate(
        session=db.session(), stmt=stmt, order=order, limit=limit, offset=int(args["offset"])
    )
