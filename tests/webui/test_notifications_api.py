"""``/api/v2/notifications``: alert deliveries, filtered, for operators only; retrying one
the notifier gave up on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient

from engine.models import DeliveryStatus, NotificationDelivery
from engine.models.session import create_db_engine, make_session_factory
from engine.security.roles import create_role
from engine.security.users import create_user
from tests.webui.world import PASSWORD, T0

Headers = Callable[[str], dict[str, str]]

LEAKY_ERROR = "HTTP 400 from https://hooks.slack.com/services/T0/B0/hook-token?key=q-key"
"""A failed delivery's error as the notifier stored it before it masked URLs."""
MASKED_ERROR = "HTTP 400 from https://hooks.slack.com/***"


def add_deliveries(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'loom.db'}")
    rows = [
        ("e1", "task.failed", "email", "smtp", ["ops@x.io"], "example", DeliveryStatus.DELIVERED),
        ("e1", "task.failed", "webhook", "ops", [], "example", DeliveryStatus.PENDING),
        ("e2", "dag_run.failed", "webhook", "ops", [], "finance_report", DeliveryStatus.FAILED),
    ]
    try:
        with make_session_factory(engine).begin() as session:
            for event_id, event_type, channel, target, recipients, dag_id, status in rows:
                session.add(
                    NotificationDelivery(
                        event_id=event_id, event_type=event_type, channel=channel,
                        target=target, recipients=recipients, dag_id=dag_id, run_id="manual__1",
                        task_id="extract" if event_type.startswith("task") else None,
                        payload={"event_id": event_id}, status=status, attempts=1,
                        next_attempt_at=T0, created_at=T0,
                        last_error=LEAKY_ERROR if status is DeliveryStatus.FAILED else None,
                    )
                )  # fmt: skip
            create_role(
                session=session, name="EtlOps", dag_tags=["etl"],
                permissions=[("read", "notifications")],
            )  # fmt: skip
            create_user(
                session=session, username="etlops", password=PASSWORD, role_names=["EtlOps"]
            )
    finally:
        engine.dispose()


def delivery_ids(client: FlaskClient, as_role: Headers, tmp_path: Path, by: str) -> dict[str, int]:
    """The deliveries of :func:`add_deliveries`, added: their ids by the field ``by``."""
    add_deliveries(tmp_path)
    listed = client.get("/api/v2/notifications?order_by=id", headers=as_role("Admin")).get_json()
    return {d[by]: d["id"] for d in listed["notifications"]}


def test_operators_list_and_filter_deliveries(
    client: FlaskClient, as_role: Headers, tmp_path: Path
) -> None:
    add_deliveries(tmp_path)
    url = "/api/v2/notifications"

    page = client.get(url, headers=as_role("Op")).get_json()
    assert page["total_entries"] == 3
    assert [(d["event_id"], d["channel"]) for d in page["notifications"]] == [
        ("e2", "webhook"), ("e1", "webhook"), ("e1", "email"),
    ]  # fmt: skip
    first = page["notifications"][2]
    assert (first["recipients"], first["status"], first["attempts"]) == (
        ["ops@x.io"],
        "delivered",
        1,
    )
    assert first["payload"] == {"event_id": "e1"}

    def ids(query: str) -> list[tuple[str, str]]:
        items = client.get(f"{url}?{query}", headers=as_role("Admin")).get_json()["notifications"]
        return [(d["event_id"], d["target"]) for d in items]

    assert ids("status=failed") == [("e2", "ops")]
    assert ids("channel=email") == [("e1", "smtp")]
    assert ids("event_id=e1&order_by=id") == [("e1", "smtp"), ("e1", "ops")]
    assert ids("dag_id=example&event_type=task.failed&target=ops") == [("e1", "ops")]
    assert client.get(f"{url}?status=lost", headers=as_role("Op")).status_code == 422
    assert client.get(url, headers=as_role("Viewer")).status_code == 403
    assert client.get(url, headers=as_role("User")).status_code == 403
    limited = client.get(url, headers=as_role("etlops")).get_json()
    assert {d["dag_id"] for d in limited["notifications"]} == {"example"}
    assert limited["total_entries"] == 2


def test_a_webhook_url_in_last_error_shows_only_its_host(
    client: FlaskClient, as_role: Headers, tmp_path: Path
) -> None:
    add_deliveries(tmp_path)
    reply = client.get("/api/v2/notifications?status=failed", headers=as_role("Admin"))
    [failed] = reply.get_json()["notifications"]
    assert failed["last_error"] == MASKED_ERROR
    assert "hook-token" not in reply.get_data(as_text=True)


def test_one_delivery_is_read_within_the_roles_dags(
    client: FlaskClient, as_role: Headers, tmp_path: Path
) -> None:
    url = "/api/v2/notifications"
    ids = delivery_ids(client, as_role, tmp_path, by="dag_id")

    one = client.get(f"{url}/{ids['finance_report']}", headers=as_role("Op"))
    assert one.status_code == 200
    assert (one.get_json()["event_id"], one.get_json()["last_error"]) == ("e2", MASKED_ERROR)
    assert client.get(f"{url}/{ids['example']}", headers=as_role("etlops")).status_code == 200
    hidden = client.get(f"{url}/{ids['finance_report']}", headers=as_role("etlops"))
    assert hidden.status_code == 404  # another DAG's: as if it did not exist
    assert client.get(f"{url}/999999", headers=as_role("Admin")).status_code == 404
    assert client.get(f"{url}/{ids['example']}", headers=as_role("Viewer")).status_code == 403
    paged = client.get(f"{url}?limit=1&offset=1&order_by=id", headers=as_role("Op")).get_json()
    assert paged["total_entries"] == 3
    assert [d["event_id"] for d in paged["notifications"]] == ["e1"]
    bad = client.get(f"{url}?channel=pigeon", headers=as_role("Op"))
    assert bad.status_code == 422
    assert "channel" in bad.get_json()["errors"]


def test_a_given_up_delivery_is_retried_by_an_operator(
    client: FlaskClient, as_role: Headers, tmp_path: Path
) -> None:
    url = "/api/v2/notifications"
    ids = delivery_ids(client, as_role, tmp_path, by="status")

    assert client.post(f"{url}/{ids['failed']}/retry", headers=as_role("User")).status_code == 403
    hidden = client.post(f"{url}/{ids['failed']}/retry", headers=as_role("etlops"))
    assert hidden.status_code in (403, 404)  # may not edit, and another DAG's
    retried = client.post(f"{url}/{ids['failed']}/retry", headers=as_role("Op"))
    assert retried.status_code == 200, retried.get_json()
    assert (retried.get_json()["status"], retried.get_json()["attempts"]) == ("pending", 0)
    again = client.post(f"{url}/{ids['failed']}/retry", headers=as_role("Op"))
    assert again.status_code == 409
    assert "only a failed" in again.get_json()["detail"]
    delivered = client.post(f"{url}/{ids['delivered']}/retry", headers=as_role("Admin"))
    assert delivered.status_code == 409
    assert client.post(f"{url}/999999/retry", headers=as_role("Admin")).status_code == 404
