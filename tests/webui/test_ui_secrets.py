"""The Variables and Connections pages: who may see them, secrets never sent to the
browser, create, edit (a blank secret keeps the stored one), delete, bad input."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from engine.models.crypto import Crypter
from engine.services import connections, variables
from tests.webui.admin import in_db, text_of
from tests.webui.ui import page_as, ui_sign_in


def value_of(app: Flask, key: str) -> str | None:
    def read(session: Any) -> str | None:
        row = variables.find_variable(session=session, key=key)
        return None if row is None else variables.variable_value(Crypter([]), row)

    return in_db(app, read)  # type: ignore[no-any-return]


def conn_of(app: Flask, conn_id: str) -> Any:
    def read(session: Any) -> Any:
        row = connections.find_connection(session=session, conn_id=conn_id)
        return None if row is None else connections.as_connection(Crypter([]), row)

    return in_db(app, read)


def test_viewer_and_user_may_not_see_them(client: FlaskClient) -> None:
    page = page_as(client, "User", "/dags")
    assert 'href="/variables"' not in page
    assert client.get("/variables").status_code == 403
    assert client.get("/connections/warehouse").status_code == 403


def test_variables_page_masks_and_edits(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    page = text_of(client.get("/variables"))
    assert "eu-west-1" in page
    assert "tok-secret-1" not in page  # api_token is sensitive
    assert "tok-secret-1" not in text_of(client.get("/variables/api_token"))
    form = {"csrf_token": csrf, "key": "bucket", "value": "raw", "description": "landing"}
    assert client.post("/variables", data=form).status_code == 302
    assert value_of(app, "bucket") == "raw"
    assert client.post("/variables", data=form).status_code == 422  # exists
    keep = {"csrf_token": csrf, "value": "", "description": "still secret"}
    assert client.post("/variables/api_token", data=keep).status_code == 302
    assert value_of(app, "api_token") == "tok-secret-1"
    change = {"csrf_token": csrf, "value": "raw-2"}
    assert client.post("/variables/bucket", data=change).status_code == 302
    assert value_of(app, "bucket") == "raw-2"
    assert client.post("/variables/bucket/delete", data={"csrf_token": csrf}).status_code == 302
    assert value_of(app, "bucket") is None
    assert client.get("/variables/bucket").status_code == 404


def test_connections_page_never_sends_the_password(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    assert "hunter22" not in text_of(client.get("/connections"))
    assert "hunter22" not in text_of(client.get("/connections/warehouse"))
    form = {
        "csrf_token": csrf,
        "conn_id": "api",
        "conn_type": "http",
        "host": "api.example",
        "password": "pw-123456",
        "extra": '{"api_key": "k-999999", "timeout": "5"}',
    }
    assert client.post("/connections", data=form).status_code == 302
    page = text_of(client.get("/connections/api"))
    assert "pw-123456" not in page
    assert "k-999999" not in page
    edit = {**form, "password": "", "host": "api2.example", "extra": '{"api_key": "***"}'}
    assert client.post("/connections/api", data=edit).status_code == 302
    conn = conn_of(app, "api")
    assert (conn.host, conn.password, conn.extra_dejson) == (
        "api2.example",
        "pw-123456",
        {"api_key": "k-999999"},
    )
    bad = {**form, "conn_id": "bad", "extra": "{not json"}
    reply = client.post("/connections", data=bad)
    assert reply.status_code == 422
    assert "must be JSON" in text_of(reply)
    bad_port = {**form, "conn_id": "bad", "extra": "", "port": "eighty"}
    assert client.post("/connections", data=bad_port).status_code == 422
    assert client.post("/connections/api/delete", data={"csrf_token": csrf}).status_code == 302
    assert conn_of(app, "api") is None


def test_import_forms(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    assert "Import variables" in text_of(client.get("/variables"))
    file = '{"imported": "yes", "cfg": {"a": 1}}'
    reply = client.post("/variables/import", data={"csrf_token": csrf, "file": file})
    assert reply.status_code == 302
    assert "2 variables imported" in text_of(client.get("/variables"))
    assert value_of(app, "cfg") == '{"a": 1}'
    bad = client.post("/variables/import", data={"csrf_token": csrf, "file": "[1]"})
    assert bad.status_code == 422
    assert "JSON object" in text_of(bad)
    conns = '{"web": "http://u:pw-123456@web.example:8080", "db": {"conn_type": "sqlite"}}'
    reply = client.post("/connections/import", data={"csrf_token": csrf, "file": conns})
    assert reply.status_code == 302
    assert conn_of(app, "web").password == "pw-123456"
    again = client.post("/connections/import", data={"csrf_token": csrf, "file": conns})
    assert again.status_code == 409
    over = {"csrf_token": csrf, "file": conns, "overwrite": "1"}
    assert client.post("/connections/import", data=over).status_code == 302
    assert (
        client.post("/connections/import", data={"csrf_token": csrf, "file": "{"}).status_code
        == 422
    )
    assert client.get("/variables").status_code == 200
