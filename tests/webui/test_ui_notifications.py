"""The Alerts page: every delivery with its status, filtered, for the roles that may see it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.models import AuditLog, DeliveryStatus, NotificationDelivery
from engine.models.session import create_db_engine, make_session_factory
from tests.webui.test_notifications_api import MASKED_ERROR, add_deliveries
from tests.webui.ui import csrf_of, page_as, ui_sign_in
from tests.webui.world import PASSWORD


def _rows(html: str) -> int:
    return html.count("data-delivery=")


def test_an_operator_sees_every_delivery_with_its_status(
    client: FlaskClient, tmp_path: Path
) -> None:
    add_deliveries(tmp_path)
    page = page_as(client, "Op", "/notifications")
    assert _rows(page) == 3
    assert "ops@x.io" in page  # an e-mail names its recipients
    assert 'class="delivery-status delivery-failed">failed' in page
    assert MASKED_ERROR in page  # the last error, its webhook URL to the host only
    assert "hook-token" not in page
    assert "q-key" not in page
    assert "/dags/example/runs/manual__1/tasks/extract" in page
    assert 'href="/notifications"' in page  # in the menu


def test_filters_narrow_the_list(client: FlaskClient, tmp_path: Path) -> None:
    add_deliveries(tmp_path)
    ui_sign_in(client, "Admin")
    assert _rows(client.get("/notifications?status=pending").get_data(as_text=True)) == 1
    assert _rows(client.get("/notifications?channel=webhook").get_data(as_text=True)) == 2
    assert _rows(client.get("/notifications?dag_id=finance_report").get_data(as_text=True)) == 1
    refused = client.get("/notifications?status=lost")
    assert refused.status_code == 400
    assert "status must be one of" in refused.get_data(as_text=True)


def test_a_tag_scoped_role_sees_only_its_dags(client: FlaskClient, tmp_path: Path) -> None:
    add_deliveries(tmp_path)  # etlops may read the alerts of DAGs tagged etl, nothing else
    form = client.get("/login").get_data(as_text=True)
    signed_in = client.post(
        "/login", data={"username": "etlops", "password": PASSWORD, "csrf_token": csrf_of(form)}
    )
    assert signed_in.status_code == 302
    page = client.get("/notifications").get_data(as_text=True)
    assert _rows(page) == 2
    assert "finance_report" not in page


def test_viewers_and_users_neither_see_nor_open_it(client: FlaskClient, tmp_path: Path) -> None:
    add_deliveries(tmp_path)
    for role in ("Viewer", "User"):
        client.post("/logout")  # the next sign-in starts from nothing
        client.delete_cookie("loom_access")
        client.delete_cookie("loom_refresh")
        ui_sign_in(client, role)
        assert 'href="/notifications"' not in client.get("/dags").get_data(as_text=True)
        assert client.get("/notifications").status_code == 403


def _failed_id(tmp_path: Path) -> int:
    with _sessions(tmp_path) as session:
        return session.scalars(
            sa.select(NotificationDelivery.id).where(
                NotificationDelivery.status == DeliveryStatus.FAILED
            )
        ).one()


@contextmanager
def _sessions(tmp_path: Path) -> Iterator[Session]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'loom.db'}")
    try:
        with make_session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def test_an_operator_retries_a_given_up_delivery_and_it_is_audited(
    client: FlaskClient, tmp_path: Path
) -> None:
    add_deliveries(tmp_path)
    failed = _failed_id(tmp_path)
    page = page_as(client, "Op", "/notifications")
    assert page.count(">Retry</button>") == 1  # only the failed delivery has the button
    assert f'action="/notifications/{failed}/retry"' in page

    reply = client.post(f"/notifications/{failed}/retry", data={"csrf_token": csrf_of(page)})

    assert reply.status_code == 302
    assert reply.headers["Location"] == "/notifications"
    shown = client.get("/notifications").get_data(as_text=True)
    assert f"notification {failed} (dag_run.failed to ops) will be sent again" in shown
    assert ">Retry</button>" not in shown
    with _sessions(tmp_path) as session:
        row = session.get_one(NotificationDelivery, failed)
        assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 0)
        entry = session.scalars(
            sa.select(AuditLog).where(AuditLog.target == f"/notifications/{failed}/retry")
        ).one()
        assert (entry.username, entry.outcome) == ("op", "success")

    again = client.post(f"/notifications/{failed}/retry", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 409
    assert "only a failed (given up) delivery can be retried" in again.get_data(as_text=True)


def test_retry_needs_the_csrf_token_and_an_operator(client: FlaskClient, tmp_path: Path) -> None:
    add_deliveries(tmp_path)
    failed = _failed_id(tmp_path)
    csrf = ui_sign_in(client, "Op")
    assert client.post(f"/notifications/{failed}/retry").status_code == 400  # no CSRF token
    client.post("/logout", data={"csrf_token": csrf})
    client.delete_cookie("loom_access")
    client.delete_cookie("loom_refresh")
    csrf = ui_sign_in(client, "User")
    refused = client.post(f"/notifications/{failed}/retry", data={"csrf_token": csrf})
    assert refused.status_code == 403
    with _sessions(tmp_path) as session:
        assert session.get_one(NotificationDelivery, failed).status is DeliveryStatus.FAILED
