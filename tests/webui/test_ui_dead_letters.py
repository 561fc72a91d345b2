"""The Dead letters page: the list by status, one letter's message, replay and discard."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.security.roles import create_role
from engine.security.users import create_user
from tests.webui.admin import (
    FAILED_ONCE,
    extract,
    in_db,
    letter_id,
    letter_state,
    row_of,
    text_of,
)
from tests.webui.ui import ui_sign_in
from tests.webui.world import PASSWORD


def test_dead_letter_list_shows_pending_letters_whose_first_link_opens_the_detail(
    app: Flask, client: FlaskClient
) -> None:
    ui_sign_in(client, "Viewer")
    id = letter_id(app)
    page = text_of(client.get("/dead-letters"))
    assert "<h1>Dead letters</h1>" in page
    row = row_of(page, f'data-dead-letter="{id}"')
    first_link = re.search(r'href="([^"]+)"', row)
    assert first_link is not None
    assert first_link.group(1) == f"/dead-letters/{id}"
    for shown in ("example", "manual__1", "/dags/example/runs/manual__1", "extract", "ValueError"):
        assert shown in row
    assert "pending" in row
    assert 'data-dead-letter="' not in text_of(client.get("/dead-letters?status=replayed"))
    assert f'data-dead-letter="{id}"' in text_of(client.get("/dead-letters?status=all"))


def test_dead_letter_list_pages_and_refuses_an_unknown_status(client: FlaskClient) -> None:
    ui_sign_in(client, "Op")
    refused = client.get("/dead-letters?status=lost")
    assert refused.status_code == 422
    assert "status: &#39;lost&#39; is not one of" in text_of(refused)
    assert 'data-dead-letter="' not in text_of(client.get("/dead-letters?offset=50"))


def test_dead_letter_detail_shows_the_message_and_the_actions(
    app: Flask, client: FlaskClient
) -> None:
    ui_sign_in(client, "Op")
    page = text_of(client.get(f"/dead-letters/{letter_id(app)}"))
    for shown in ("boom", "ValueError", "w1", '"n": 2', "No traceback was recorded"):
        assert shown in page
    assert "/dags/example/runs/manual__1/tasks/extract" in page
    assert ">Replay</button>" in page
    assert ">Discard</button>" in page
    assert "data-confirm=" in page


def test_replay_runs_the_task_again_with_fresh_tries(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    id = letter_id(app)
    assert extract(app) == FAILED_ONCE
    reply = client.post(f"/dead-letters/{id}/replay", data={"csrf_token": csrf})
    assert reply.status_code == 302
    assert reply.headers["Location"] == f"/dead-letters/{id}"
    page = text_of(client.get(reply.headers["Location"]))
    assert f"dead letter {id} replayed: example.extract runs again with fresh tries" in page
    assert ">Replay</button>" not in page
    assert letter_state(app) == "replayed"
    state, try_number, max_tries = extract(app)
    assert state == "none"
    assert max_tries > try_number


def test_discard_resolves_without_running_again(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    id = letter_id(app)
    reply = client.post(f"/dead-letters/{id}/discard", data={"csrf_token": csrf})
    assert reply.status_code == 302
    assert "discarded" in text_of(client.get(reply.headers["Location"]))
    assert letter_state(app) == "discarded"
    assert extract(app) == FAILED_ONCE


def test_replaying_a_resolved_dead_letter_is_a_clear_error(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    id = letter_id(app)
    client.post(f"/dead-letters/{id}/discard", data={"csrf_token": csrf})
    reply = client.post(f"/dead-letters/{id}/replay", data={"csrf_token": csrf})
    assert reply.status_code == 409
    assert f"dead letter {id} is discarded already" in text_of(reply)
    assert letter_state(app) == "discarded"
    assert extract(app) == FAILED_ONCE


@pytest.mark.parametrize(("role", "action"), [("Viewer", "replay"), ("User", "discard")])
def test_roles_without_dead_letter_rights_see_no_actions_and_are_refused(
    app: Flask, client: FlaskClient, role: str, action: str
) -> None:
    csrf = ui_sign_in(client, role)
    id = letter_id(app)
    page = text_of(client.get(f"/dead-letters/{id}"))
    assert "boom" in page
    assert ">Replay</button>" not in page
    assert ">Discard</button>" not in page
    assert client.post(f"/dead-letters/{id}/{action}", data={"csrf_token": csrf}).status_code == 403
    assert letter_state(app) == "pending"
    assert extract(app) == FAILED_ONCE


def test_dead_letters_of_dags_outside_the_tag_scope_are_hidden(
    app: Flask, client: FlaskClient
) -> None:
    def finance_reader(session: Any) -> None:
        create_role(
            session=session,
            name="FinanceViewer",
            permissions=[("read", "dags"), ("read", "dead_letters")],
            dag_tags=["finance"],
        )
        create_user(
            session=session, username="fin", password=PASSWORD, role_names=["FinanceViewer"]
        )
        session.commit()

    in_db(app, finance_reader)
    ui_sign_in(client, "fin")
    assert 'data-dead-letter="' not in text_of(client.get("/dead-letters"))
    assert client.get(f"/dead-letters/{letter_id(app)}").status_code == 404


def test_unknown_dead_letter_is_a_404_page(client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    for reply in (
        client.get("/dead-letters/9999"),
        client.post("/dead-letters/9999/replay", data={"csrf_token": csrf}),
    ):
        assert reply.status_code == 404
        assert "dead letter 9999 not found" in text_of(reply)


# -- pools ------------------------------------------------------------------------------------
