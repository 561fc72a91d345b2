"""Pools: the list with the slots in use, create, resize or describe, delete."""

from __future__ import annotations

from collections.abc import Mapping

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

import engine.services.pools
from engine.errors import ConflictError
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
    FORM_ERRORS,
    FormErrors,
    refusal,
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
    try:
        engine.services.pools.create_pool(
            session=db.session(),
            name=name,
            slots=whole_number("slots", most=MAX_SLOTS),
            description=text("description", longest=DESCRIPTION_LENGTH),
        )
    except FORM_ERRORS as refused:
        errors, status = refusal(refused, "name")
        return _list_page(errors=errors, form=request.form), status
    db.commit()
    flash(f"pool {name} created")
    return redirect(url_for("ui.pools"))


@bp.route("/pools/<name>")
@page(Action.READ, Resource.POOLS)
def pool(name: str) -> str:
    return _edit_page(engine.services.pools.require_pool(session=db.session(), name=name))


@bp.route("/pools/<name>", methods=["POST"])
@page(Action.EDIT, Resource.POOLS)
def edit_pool(name: str) -> Response | tuple[str, int]:
    found = engine.services.pools.require_pool(session=db.session(), name=name)
    try:
        engine.services.pools.update_pool(
            session=db.session(),
            pool=found,
            slots=whole_number("slots", most=MAX_SLOTS),
            description=text("description", longest=DESCRIPTION_LENGTH) or "",
        )
    except FORM_ERRORS as refused:
        errors, status = refusal(refused, "slots")
        return _edit_page(found, errors=errors, form=request.form), status
    db.commit()
    flash(f"pool {name} saved: {found.slots} slots")
    return redirect(url_for("ui.pools"))


@bp.route("/pools/<name>/delete", methods=["POST"])
@page(Action.DELETE, Resource.POOLS)
def delete_pool(name: str) -> Response | tuple[str, int]:
    found = engine.services.pools.require_pool(session=db.session(), name=name)
    try:
        engine.services.pools.delete_pool(session=db.session(), pool=found)
    except ConflictError as refused:
        db.session().rollback()
        flash(str(refused), "error")
        return _list_page(), 409
    db.commit()
    flash(f"pool {name} deleted; its tasks wait until a pool of that name exists again")
    return redirect(url_for("ui.pools"))


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
        errors=errors or {},
        form=form or {},
    )


def _edit_page(
    found: Pool, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
) -> str:
    [used] = engine.services.pools.usage(session=db.session(), pools=[found])
    return render_template(
        "ui/pools_edit.html",
        usage=used,
        default_pool=DEFAULT_POOL,
        errors=errors or {},
        form=form or {},
    )
