"""Pools: the list with the slots in use, create, resize or describe, delete."""

from __future__ import annotations

from collections.abc import Mapping

from flask import render_template

import engine.services.pools
from engine.models import Pool
from engine.priority import DEFAULT_POOL
from engine.security.roles import Resource
from engine.services.pagination import Page
from engine.services.pools import PoolUsage
from webui import db
from webui.ui.blueprint import bp
from webui.ui.paging import list_page
from webui.ui.views.admin import (
    DESCRIPTION_LENGTH,
    FormErrors,
    form_context,
    text,
    whole_number,
)
from webui.ui.views.adminpages import AdminPages

PAGE_SIZE = 50
MAX_SLOTS = 1_000_000
"""Most slots a pool may have (as the API accepts)."""


class PoolPages(AdminPages[Pool], noun="pool", key="name", resource=Resource.POOLS):
    edit_field = "slots"
    deleted_note = "; its tasks wait until a pool of that name exists again"

    def list_page(
        self, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
    ) -> str:
        session = db.session()
        listed: Page[Pool] = list_page(
            engine.services.pools.pool_query(), order=[Pool.name], limit=PAGE_SIZE
        )
        usages: list[PoolUsage] = engine.services.pools.usage(session=session, pools=listed.items)
        return render_template(
            "ui/pools.html",
            page=listed,
            usages=usages,
            default_pool=DEFAULT_POOL,
            **form_context(errors, form),
        )

    def item_page(
        self, found: Pool, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
    ) -> str:
        [used] = engine.services.pools.usage(session=db.session(), pools=[found])
        return render_template(
            "ui/pools_edit.html",
            usage=used,
            default_pool=DEFAULT_POOL,
            **form_context(errors, form),
        )

    def find(self, key: str) -> Pool:
        return engine.services.pools.require_pool(session=db.session(), name=key)

    def create(self, key: str) -> None:
        engine.services.pools.create_pool(
            session=db.session(),
            name=key,
            slots=whole_number("slots", most=MAX_SLOTS),
            description=text("description", longest=DESCRIPTION_LENGTH),
        )

    def update(self, found: Pool) -> None:
        engine.services.pools.update_pool(
            session=db.session(),
            pool=found,
            slots=whole_number("slots", most=MAX_SLOTS),
            description=text("description", longest=DESCRIPTION_LENGTH) or "",
        )

    def delete(self, found: Pool) -> None:
        engine.services.pools.delete_pool(session=db.session(), pool=found)

    def saved_note(self, found: Pool) -> str:
        return f": {found.slots} slots"


PoolPages().register(bp)
