"""Pools: the list with the slots in use, create, resize or describe, delete."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from flask import render_template, request, url_for
from werkzeug.wrappers import Response

import engine.services.pools
from engine.models import Pool
from engine.priority import DEFAULT_POOL
from engine.security.roles import Action, Resource
from engine.services.pagination import Page
from engine.services.pools import PoolUsage
from webui import db
from webui.ui.blueprint import bp
from webui.ui.paging import list_page
from webui.ui.session import page
from webui.ui.views.admin import (
    DESCRIPTION_LENGTH,
    FormErrors,
    deleted,
    form_context,
    saved,
    text,
    whole_number,
)

PAGE_SIZE = 50
MAX_SLOTS = 1_000_000
"""Most slots a pool may have (as the API accepts)."""


@bp.route("/pools")
@page(Action.READ, Resource.POOLS)
def pools() -> str:
    return _list_page()


@bp.route("/pools", methods=["POST"])
@page(Action.CREATE, Resource.POOLS)
def create_pool() -> Response | tuple[str, int]:
    name = request.form.get("name", "").strip()

    def create() -> None:
        engine.services.pools.create_pool(
            session=db.session(),
            name=name,
            slots=whole_number("slots", most=MAX_SLOTS),
            description=text("description", longest=DESCRIPTION_LENGTH),
        )

    return saved(
        create,
        field="name",
        again=_list_page,
        done=f"pool {name} created",
        then=url_for("ui.pools"),
    )


@bp.route("/pools/<name>")
@page(Action.READ, Resource.POOLS)
def pool(name: str) -> str:
    return _edit_page(_named(name))


@bp.route("/pools/<name>", methods=["POST"])
@page(Action.EDIT, Resource.POOLS)
def edit_pool(name: str) -> Response | tuple[str, int]:
    found = _named(name)

    def update() -> None:
        engine.services.pools.update_pool(
            session=db.session(),
            pool=found,
            slots=whole_number("slots", most=MAX_SLOTS),
            description=text("description", longest=DESCRIPTION_LENGTH) or "",
        )

    return saved(
        update,
        field="slots",
        again=functools.partial(_edit_page, found),
        done=lambda: f"pool {name} saved: {found.slots} slots",
        then=url_for("ui.pools"),
    )


@bp.route("/pools/<name>/delete", methods=["POST"])
@page(Action.DELETE, Resource.POOLS)
def delete_pool(name: str) -> Response | tuple[str, int]:
    found = _named(name)
    return deleted(
        lambda: engine.services.pools.delete_pool(session=db.session(), pool=found),
        again=_list_page,
        done=f"pool {name} deleted; its tasks wait until a pool of that name exists again",
        then=url_for("ui.pools"),
    )


def _named(name: str) -> Pool:
    return engine.services.pools.require_pool(session=db.session(), name=name)


def _list_page(errors: FormErrors | None = None, form: Mapping[str, str] | None = None) -> str:
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


def _edit_page(
    found: Pool, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
) -> str:
    [used] = engine.services.pools.usage(session=db.session(), pools=[found])
    return render_template(
        "ui/pools_edit.html",
        usage=used,
        default_pool=DEFAULT_POOL,
        **form_context(errors, form),
    )
