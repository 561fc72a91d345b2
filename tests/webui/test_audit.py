"""The audit entry of a change is written in the change's transaction, on a real
PostgreSQL: when the entry cannot be written, nothing changed. A refused change is
recorded on its own, as refused (or denied), after its changes are rolled back."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.models import AuditLog, Pool, Role
from tests.webui.admin import in_db
from tests.webui.conftest import bearer, login
from tests.webui.ui import ui_sign_in

pytestmark = pytest.mark.postgres

REFUSE_SUCCESS = (
    """
    CREATE FUNCTION refuse_success_entries() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.outcome = 'success' THEN
            RAISE EXCEPTION 'the audit log refuses this entry';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER refuse_success BEFORE INSERT ON audit_log
        FOR EACH ROW EXECUTE FUNCTION refuse_success_entries()
    """,
)
"""A broken audit log (a full disk, a lost grant): success entries cannot be written;
others can, so that the failed attempt is still on record."""


@pytest.fixture
def client(pg_client: FlaskClient) -> FlaskClient:
    """This module's client talks to the app on PostgreSQL."""
    return pg_client


@pytest.fixture
def op(client: FlaskClient) -> dict[str, str]:
    return bearer(login(client, "op")["access_token"])


def test_an_api_change_without_its_entry_did_not_happen(
    pg_app: Flask, client: FlaskClient, op: dict[str, str]
) -> None:
    _break_audit_log(pg_app)

    reply = client.post("/api/v2/pools", json={"name": "fresh", "slots": 1}, headers=op)

    assert reply.status_code == 500
    assert _pool(pg_app, "fresh") is None
    assert _entries(pg_app, "pools.create") == [("op", "error", {"method": "POST", "status": 500})]


def test_a_ui_change_without_its_entry_did_not_happen(pg_app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    _break_audit_log(pg_app)

    reply = client.post("/pools", data={"csrf_token": csrf, "name": "fresh", "slots": "1"})

    assert reply.status_code == 500
    assert _pool(pg_app, "fresh") is None
    assert [e[1] for e in _entries(pg_app, "ui.create_pool")] == ["error"]


def test_a_change_and_its_entry_are_committed_together(
    pg_app: Flask, client: FlaskClient, op: dict[str, str]
) -> None:
    reply = client.post("/api/v2/pools", json={"name": "fresh", "slots": 1}, headers=op)

    assert reply.status_code == 201
    assert _pool(pg_app, "fresh") == 1
    assert _entries(pg_app, "pools.create") == [("op", "success", {"method": "POST"})]


def test_refused_changes_are_recorded_as_refused_and_change_nothing(
    pg_app: Flask, client: FlaskClient
) -> None:
    admin = bearer(login(client, "admin")["access_token"])
    scoped = client.patch("/api/v2/roles/Admin", json={"dag_tags": ["etl"]}, headers=admin)
    assert scoped.status_code == 409  # the last-admin guard: flushed, then refused
    invalid = client.post("/api/v2/pools", json={"name": "", "slots": -1}, headers=admin)
    assert invalid.status_code == 422
    viewer = bearer(login(client, "viewer")["access_token"])
    forbidden = client.post("/api/v2/pools", json={"name": "x", "slots": 1}, headers=viewer)
    assert forbidden.status_code == 403

    assert _entries(pg_app, "roles.patch_role") == [
        ("admin", "refused", {"method": "PATCH", "status": 409})
    ]
    assert _entries(pg_app, "pools.create") == [
        ("admin", "refused", {"method": "POST", "status": 422}),
        ("viewer", "denied", {"method": "POST", "status": 403}),
    ]
    tags = in_db(pg_app, lambda s: s.scalars(sa.select(Role.dag_tags).where(Role.name == "Admin")))
    assert list(tags) == [[]]


def test_a_refused_ui_change_is_recorded_as_refused(pg_app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Admin")
    reply = client.post("/roles/Admin", data={"csrf_token": csrf, "dag_tags": "etl"})
    assert reply.status_code == 409
    assert _entries(pg_app, "ui.edit_role") == [
        ("admin", "refused", {"method": "POST", "status": 409})
    ]


def _break_audit_log(app: Flask) -> None:
    def install(session: Any) -> None:
        for statement in REFUSE_SUCCESS:
            session.execute(sa.text(statement))
        session.commit()

    in_db(app, install)


def _pool(app: Flask, name: str) -> int | None:
    slots: int | None = in_db(
        app, lambda s: s.scalars(sa.select(Pool.slots).where(Pool.name == name)).first()
    )
    return slots


def _entries(app: Flask, action: str) -> list[tuple[str | None, str, dict[str, Any]]]:
    rows = in_db(
        app,
        lambda s: s.execute(
            sa.select(AuditLog.username, AuditLog.outcome, AuditLog.details)
            .where(AuditLog.action == action)
            .order_by(AuditLog.id)
        ).all(),
    )
    return [tuple(row) for row in rows]
