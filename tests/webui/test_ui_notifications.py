"""The Alerts page: every delivery with its status, filtered, for the roles that may see it."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from tests.webui.test_notifications_api import MASKED_ERROR, add_deliveries
from tests.webui.ui import csrf_of, ui_sign_in
from tests.webui.world import PASSWORD


def _rows(html: str) -> int:
    return html.count("data-delivery=")


def test_an_operator_sees_every_delivery_with_its_status(
    client: FlaskClient, tmp_path: Path
) -> None:
    add_deliveries(tmp_path)
    ui_sign_in(client, "Op")
    page = client.get("/notifications").get_data(as_text=True)
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
