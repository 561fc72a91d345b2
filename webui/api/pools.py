"""``/pools``: list, create, get, resize, delete."""

from __future__ import annotations

from typing import Any

from engine.models import Pool
from engine.security.roles import Action, Resource
from engine.services.pools import (
    POOL_ORDER,
    PoolUsage,
    create_pool,
    delete_pool,
    pool_query,
    require_pool,
    update_pool,
    usage,
)
from webui import db
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.admin import PoolCreateSchema, PoolPatchSchema, PoolSchema

blp = api_blueprint("pools", "/pools", "Pools", Resource.POOLS)


def _row(entry: PoolUsage) -> dict[str, Any]:
    pool = entry.pool
    return {
        "name": pool.name,
        "slots": pool.slots,
        "description": pool.description,
        "running_slots": entry.running_slots,
        "queued_slots": entry.queued_slots,
        "open_slots": entry.open_slots,
    }


def _one(pool: Pool) -> dict[str, Any]:
    return _row(usage(session=db.session(), pools=[pool])[0])


@blp.listing("", PoolSchema)
def list_pools(args: dict[str, Any]) -> Any:
    """List pools with the slots in use."""
    page = paged(pool_query(), args, POOL_ORDER, "name")
    return page.with_items([_row(u) for u in usage(session=db.session(), pools=page.items)])


@blp.operation("POST", "", Action.CREATE, body=PoolCreateSchema, status=201, returns=PoolSchema)
def create(body: dict[str, Any]) -> Any:
    """Create a pool."""
    pool = create_pool(session=db.session(), **body)  # the schema's fields are its arguments
    db.commit()
    return _one(pool)


@blp.operation("GET", "/<pool_name>", Action.READ, returns=PoolSchema)
def get_pool(pool_name: str) -> Any:
    """Get one pool."""
    return _one(require_pool(session=db.session(), name=pool_name))


@blp.operation("PATCH", "/<pool_name>", Action.EDIT, body=PoolPatchSchema, returns=PoolSchema)
def patch_pool(body: dict[str, Any], pool_name: str) -> Any:
    """Resize a pool or change its description."""
    pool = require_pool(session=db.session(), name=pool_name)
    update_pool(session=db.session(), pool=pool, **body)
    db.commit()
    return _one(pool)


@blp.operation("DELETE", "/<pool_name>", Action.DELETE, status=204)
def delete(pool_name: str) -> None:
    """Delete a pool (``default_pool`` cannot be deleted)."""
    delete_pool(session=db.session(), pool=require_pool(session=db.session(), name=pool_name))
    db.commit()
