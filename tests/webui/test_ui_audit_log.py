"""The Audit log page: UI actions newest first, filters, paging."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.models import AuditLog
from engine.services import audit
from engine.timeutil import utcnow
from tests.webui.admin import (
    in_db,
    letter_id,
    text_of,
)
from tests.webui.ui import ui_sign_in


def test_audit_log_lists_ui_actions_newest_first(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Admin")
    client.post("/pools", data={"csrf_token": csrf, "name": "gpu", "slots": "1"})
    client.post("/dags/example/pause", data={"csrf_token": csrf, "paused": "true"})
    page = text_of(client.get("/audit"))
    assert "<h1>Audit log</h1>" in page
    assert page.index("ui.pause") < page.index("ui.create_pool")
    newest = re.search(r"<tr data-audit=\"\d+\">(.*?)</tr>", page, re.DOTALL)
    assert newest is not None
    for shown in ("admin", "ui.pause", "POST", "/dags/example/pause", "success"):
        assert shown in newest.group(1)
    assert 'href="/dags/example"' in newest.group(1)


def test_audit_log_filters(app: Flask, client: FlaskClient) -> None:
    viewer = app.test_client()
    forged = ui_sign_in(viewer, "Viewer")
    assert (
        viewer.post("/pools", data={"csrf_token": forged, "name": "x", "slots": "1"}).status_code
        == 403
    )
    csrf = ui_sign_in(client, "Admin")
    client.post("/dags/example/pause", data={"csrf_token": csrf, "paused": "true"})

    denied = text_of(client.get("/audit?outcome=denied"))
    assert "ui.create_pool" in denied
    assert "ui.pause" not in denied
    by_user = text_of(client.get("/audit?user=viewer"))
    assert "ui.create_pool" in by_user
    assert "ui.pause" not in by_user
    assert "ui.pause" in text_of(client.get("/audit?dag_id=example"))
    assert "ui.pause" not in text_of(client.get("/audit?dag_id=finance_report"))
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")
    assert 'data-audit="' not in text_of(client.get(f"/audit?since={tomorrow}"))


def test_audit_log_refuses_a_bad_filter_next_to_its_field(client: FlaskClient) -> None:
    ui_sign_in(client, "Admin")
    reply = client.get("/audit?since=yesterday")
    assert reply.status_code == 422
    assert re.search(r'id="since-error">&#39;yesterday&#39; is not a date', text_of(reply))


def test_audit_log_pages(app: Flask, client: FlaskClient) -> None:
    def fill(session: Any) -> None:
        for n in range(60):
            audit.record(
                session=session, action=f"test.{n}", outcome=audit.Outcome.SUCCESS, now=utcnow()
            )
        session.commit()

    in_db(app, fill)
    ui_sign_in(client, "Admin")
    first = text_of(client.get("/audit"))
    assert "test.59" in first
    assert "Next →" in first
    assert "test.0<" not in first
    assert "test.0<" in text_of(client.get("/audit?offset=50"))


# -- users ------------------------------------------------------------------------------------


def test_a_ui_post_is_in_the_audit_log_with_its_outcome(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    client.post(f"/dead-letters/{letter_id(app)}/replay", data={"csrf_token": csrf})
    entry = in_db(
        app, lambda s: s.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first()
    )
    assert (entry.action, entry.username, entry.outcome) == (
        "ui.replay_dead_letter",
        "op",
        "success",
    )
