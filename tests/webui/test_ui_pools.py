"""The Pools page: slots in use, create, edit, delete, and what bad input does."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.models import TaskInstance
from engine.state import TaskInstanceState
from tests.webui.admin import (
    in_db,
    pools_of,
    row_of,
    text_of,
)
from tests.webui.ui import page_as, ui_sign_in


def test_pool_list_shows_slots_in_use(app: Flask, client: FlaskClient) -> None:
    def queue_load(session: Any) -> None:
        session.execute(
            sa.update(TaskInstance)
            .where(TaskInstance.task_id == "load")
            .values(state=TaskInstanceState.QUEUED, pool="etl", pool_slots=3)
        )
        session.commit()

    in_db(app, queue_load)
    ui_sign_in(client, "Viewer")
    page = text_of(client.get("/pools"))
    assert "<h1>Pools</h1>" in page
    row = row_of(page, 'data-pool="etl"')
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
    assert [c.strip() for c in cells[1:6]] == ["4", "0", "3", "1", "ETL jobs"]
    assert 'data-pool="default_pool"' in page
    assert "Create pool" not in page
    assert "Delete pool etl" not in page


def test_pool_create_edit_and_delete(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    page = text_of(client.get("/pools"))
    assert "Create pool" in page
    assert 'aria-label="Delete pool etl"' in page
    assert 'aria-label="Delete pool default_pool"' not in page
    form = {"csrf_token": csrf, "name": "gpu", "slots": "2", "description": "The GPU box"}
    reply = client.post("/pools", data=form)
    assert reply.status_code == 302
    assert "pool gpu created" in text_of(client.get("/pools"))
    assert pools_of(app)["gpu"] == (2, "The GPU box")

    assert "Pool gpu" in text_of(client.get("/pools/gpu"))
    edit = {"csrf_token": csrf, "slots": "5", "description": "Two GPUs"}
    assert client.post("/pools/gpu", data=edit).status_code == 302
    assert pools_of(app)["gpu"] == (5, "Two GPUs")

    assert client.post("/pools/gpu/delete", data={"csrf_token": csrf}).status_code == 302
    assert "gpu" not in pools_of(app)


@pytest.mark.parametrize(
    ("url", "form", "status", "message"),
    [
        ("/pools", {"name": "gpu", "slots": "-1"}, 422, "must be 0 or more"),
        ("/pools", {"name": "gpu", "slots": "many"}, 422, "must be a whole number"),
        ("/pools", {"name": "bad name!", "slots": "1"}, 422, "is not a valid pool name"),
        ("/pools", {"name": "etl", "slots": "9"}, 409, "pool &#39;etl&#39; exists already"),
        ("/pools/etl", {"slots": "-3", "description": "x"}, 422, "must be 0 or more"),
        ("/pools/default_pool/delete", {}, 409, "default_pool cannot be deleted"),
    ],
)
def test_bad_pool_input_is_shown_and_changes_nothing(
    app: Flask, client: FlaskClient, url: str, form: dict[str, str], status: int, message: str
) -> None:
    csrf = ui_sign_in(client, "Op")
    before = pools_of(app)
    reply = client.post(url, data={"csrf_token": csrf, **form})
    assert reply.status_code == status
    page = text_of(reply)
    assert message in page
    assert 'class="field-error"' in page or 'class="flash error"' in page
    assert pools_of(app) == before


def test_a_refused_pool_form_keeps_what_was_typed(client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    reply = client.post(
        "/pools", data={"csrf_token": csrf, "name": "gpu", "slots": "-1", "description": "GPUs"}
    )
    page = text_of(reply)
    assert re.search(r'id="pool-slots-error">must be 0 or more<', page)
    assert 'value="GPUs"' in page
    assert 'aria-invalid="true"' in page


def test_unknown_pool_is_a_404_page(client: FlaskClient) -> None:
    page = page_as(client, "Viewer", "/pools/nowhere", status=404)
    assert "no pool &#39;nowhere&#39;" in page


# -- the audit log ----------------------------------------------------------------------------
