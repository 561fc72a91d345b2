"""Sign-in throttling: per username and address (atomic counts in PostgreSQL), per username
for every address, per client address and for all clients (Flask-Limiter, in memory or
Redis db 8), for the API's login and the UI's login form alike."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.config import LoginSettings
from engine.models import LoginFailure
from engine.models.session import create_db_engine, make_session_factory
from engine.security.throttle import EVERY_ADDRESS, lock_duration
from tests.support.network import answers, free_port
from tests.support.processes import LOOM, outside_environ, processes_under, wait_until
from tests.support.services import flushed_redis, redis_url
from tests.webui.conftest import app_for
from tests.webui.ui import csrf_of
from tests.webui.world import PASSWORD, SECRET, build_world
from webui import db

LOGIN = "/auth/token"
SIGNED_IN = 201
"""What a successful ``POST /auth/token`` answers."""
REDIS_URL = redis_url(8)
FREE = LoginSettings().free_failures
A, B, C = "203.0.113.1", "203.0.113.2", "203.0.113.3"
"""Client addresses (TEST-NET-3)."""


def attempt(client: FlaskClient, username: str, password: str, address: str = A) -> Any:
    return client.post(
        LOGIN,
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def counts(app: Flask) -> dict[tuple[str, str], int]:
    """(username, address) → failures counted."""
    with app.app_context():
        rows = db.session().execute(
            sa.select(LoginFailure.username, LoginFailure.client, LoginFailure.failures)
        )
        found = {(username, client): failures for username, client, failures in rows}
        db.session().close()
    return found


# -- per username and address, in the database ---------------------------------------------

UNLIMITED = {"client_limit": "1000 per second", "global_limit": "1000 per second"}
"""Rate limits out of the way of the tests of the counts."""


@pytest.fixture
def pg_counts_app(postgres_url: str, tmp_path: Path) -> Flask:
    """The test world in PostgreSQL, with rate limits out of the way."""
    world = build_world(postgres_url, tmp_path / "dags")
    return app_for(postgres_url, tmp_path, world.dags_folder, login=UNLIMITED)


@pytest.mark.postgres
def test_failures_lock_the_address_out_even_for_the_right_password(pg_counts_app: Flask) -> None:
    client = pg_counts_app.test_client()
    for _ in range(FREE):
        assert attempt(client, "op", "wrong-password").status_code == 401
    locked = attempt(client, "op", PASSWORD)
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "30"
    assert locked.get_json() == {
        "code": 429,
        "message": "too many sign-in attempts; try again in 30 s",
        "detail": "too many sign-in attempts; try again in 30 s",
        "errors": {},
    }
    assert counts(pg_counts_app) == {("op", A): FREE, ("op", EVERY_ADDRESS): FREE}


@pytest.mark.postgres
def test_an_attacker_cannot_lock_out_the_owner_signing_in_from_elsewhere(
    pg_counts_app: Flask,
) -> None:
    client = pg_counts_app.test_client()
    for _ in range(3 * FREE):
        assert attempt(client, "op", "wrong-password", A).status_code in (401, 429)
    assert attempt(client, "op", PASSWORD, A).status_code == 429  # the attacker's address
    owner = attempt(client, "op", PASSWORD, B)
    assert owner.status_code == SIGNED_IN, owner.get_json()
    assert "access_token" in owner.get_json()


@pytest.mark.postgres
def test_a_success_forgets_that_addresss_failures_only(pg_counts_app: Flask) -> None:
    client = pg_counts_app.test_client()
    for address in (A, B):
        for _ in range(FREE - 1):
            attempt(client, "op", "wrong-password", address)
    assert attempt(client, "op", PASSWORD, A).status_code == SIGNED_IN
    assert attempt(client, "op", "wrong-password", A).status_code == 401  # counting anew
    assert attempt(client, "op", "wrong-password", B).status_code == 401  # the 5th: locks
    assert attempt(client, "op", PASSWORD, B).status_code == 429
    assert counts(pg_counts_app)[("op", A)] == 1


@pytest.mark.postgres
def test_an_unknown_username_is_throttled_like_a_known_one(pg_counts_app: Flask) -> None:
    client = pg_counts_app.test_client()
    replies: dict[str, list[tuple[int, Any, str | None]]] = {}
    for username in ("op", "nobody"):
        replies[username] = [
            (reply.status_code, reply.get_json(), reply.headers.get("Retry-After"))
            for reply in (attempt(client, username, "wrong-password") for _ in range(FREE + 2))
        ]
    assert replies["nobody"] == replies["op"]
    assert [status for status, _body, _retry in replies["op"]] == [401] * FREE + [429, 429]
    assert counts(pg_counts_app)[("nobody", A)] == counts(pg_counts_app)[("op", A)] == FREE
    assert counts(pg_counts_app)[("nobody", EVERY_ADDRESS)] == FREE


@pytest.mark.postgres
def test_failures_from_many_addresses_lock_the_username_briefly_for_all(
    postgres_url: str, tmp_path: Path
) -> None:
    """The short cap on guessing one password from many addresses (docs/decisions.md)."""
    world = build_world(postgres_url, tmp_path / "dags")
    cap = {"account_failures": str(2 * FREE)}
    app = app_for(postgres_url, tmp_path, world.dags_folder, login=UNLIMITED | cap)
    client = app.test_client()
    for address in (A, B):
        for _ in range(FREE):
            assert attempt(client, "op", "wrong-password", address).status_code == 401
    locked = attempt(client, "op", PASSWORD, C)
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "60"
    assert attempt(client, "viewer", PASSWORD, C).status_code == SIGNED_IN  # others sign in


def test_lock_duration_doubles_and_is_capped() -> None:
    settings = LoginSettings()
    assert lock_duration(FREE - 1, settings) is None
    assert lock_duration(FREE, settings) == timedelta(seconds=30)
    assert lock_duration(FREE + 2, settings) == timedelta(seconds=120)
    assert lock_duration(FREE + 50, settings) == timedelta(minutes=15)


def test_a_new_password_lifts_the_locks(app: Flask, client: FlaskClient, as_role: Any) -> None:
    for _ in range(FREE):
        attempt(client, "victim", "wrong-password")
    changed = client.patch(
        "/api/v2/users/victim", json={"password": "a-new-password!"}, headers=as_role("Admin")
    )
    assert changed.status_code == 200
    assert attempt(client, "victim", "a-new-password!").status_code == SIGNED_IN


# -- per client address and for all clients (Flask-Limiter) -----------------------------------


def test_the_client_limit_answers_429_with_retry_after_for_api_and_form(
    template: Path, tmp_path: Path
) -> None:
    app = _sqlite_app(template, tmp_path, login={"client_limit": "3 per minute"})
    client = app.test_client()
    assert attempt(client, "op", "wrong-password").status_code == 401
    assert attempt(client, "viewer", "wrong-password").status_code == 401
    form = client.get("/login", environ_base={"REMOTE_ADDR": A})
    assert form.status_code == 200  # reading the form is not an attempt
    data = {"username": "user", "password": PASSWORD, "csrf_token": csrf_of(form.text)}
    assert client.post("/login", data=data, environ_base={"REMOTE_ADDR": A}).status_code == 302
    refused = attempt(client, "admin", PASSWORD)  # right, but the address used its attempts
    assert refused.status_code == 429
    assert 55 <= int(refused.headers["Retry-After"]) <= 60
    body = refused.get_json()
    assert set(body) == {"code", "message", "detail", "errors"}
    assert body["message"].startswith("too many sign-in attempts; try again in")
    page = client.post("/login", data=data, environ_base={"REMOTE_ADDR": A})
    assert page.status_code == 429
    assert "Too many sign-in attempts" in page.text
    assert 55 <= int(page.headers["Retry-After"]) <= 60
    assert attempt(client, "admin", PASSWORD, B).status_code == SIGNED_IN  # another address


def test_the_global_limit_holds_for_all_addresses(template: Path, tmp_path: Path) -> None:
    app = _sqlite_app(template, tmp_path, login={"global_limit": "2 per minute"})
    client = app.test_client()
    assert attempt(client, "op", "wrong-password", A).status_code == 401
    assert attempt(client, "op", "wrong-password", B).status_code == 401
    assert attempt(client, "admin", PASSWORD, C).status_code == 429
    assert client.get("/api/v2/version").status_code == 200  # other requests are not limited


@pytest.mark.redis
def test_limits_are_counted_in_redis_and_shared_by_webservers(
    template: Path, tmp_path: Path
) -> None:
    with flushed_redis(REDIS_URL) as redis:
        shared = {"redis": {"url": REDIS_URL}, "login": {"client_limit": "2 per minute"}}
        first = _sqlite_app(template, tmp_path, **shared).test_client()
        second = _sqlite_app(template, tmp_path, **shared).test_client()  # another process
        assert attempt(first, "op", "wrong-password").status_code == 401
        assert attempt(second, "op", "wrong-password").status_code == 401
        refused = attempt(first, "op", PASSWORD)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert attempt(second, "op", PASSWORD).status_code == 429
        assert any(b"loom-login" in key for key in redis.keys("*"))


def _sqlite_app(template: Path, tmp_path: Path, **sections: dict[str, str]) -> Flask:
    db_file = tmp_path / "loom.db"
    if not db_file.exists():
        db_file.write_bytes((template / "template.db").read_bytes())
    return app_for(f"sqlite:///{db_file}", tmp_path, template / "dags", **sections)


# -- a real webserver -------------------------------------------------------------------------


@pytest.fixture
def webserver(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    """``loom webserver`` (gunicorn, 4 workers) on the test world in PostgreSQL; its URL."""
    world = build_world(postgres_url, tmp_path / "dags")
    port = free_port()
    env = outside_environ() | {
        "LOOM_HOME": str(tmp_path / "home"),
        "LOOM__DATABASE__URL": postgres_url,
        "LOOM__CORE__DAGS_FOLDER": str(world.dags_folder),
        "LOOM__WEBSERVER__SECRET_KEY": SECRET,
        "LOOM__WEBSERVER__PORT": str(port),
        "LOOM__LOGIN__CLIENT_LIMIT": UNLIMITED["client_limit"],
        "LOOM__LOGIN__GLOBAL_LIMIT": UNLIMITED["global_limit"],
    }
    with processes_under(tmp_path) as processes:
        processes.start([LOOM, "webserver", "--workers", "4"], env, name="webserver")
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{url}/api/v2/version"), 60, what="the webserver")
        yield url


def _post_login(url: str, username: str, password: str) -> int:
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(
        f"{url}{LOGIN}", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


@pytest.mark.postgres
@pytest.mark.slow
def test_parallel_bad_passwords_are_all_counted(webserver: str, postgres_url: str) -> None:
    """40 at once from one address: 5 passwords are checked (and counted), 35 refused."""
    statuses: list[int] = []
    start = threading.Barrier(40)

    def bad_login() -> None:
        start.wait()
        statuses.append(_post_login(webserver, "op", "wrong-password"))

    threads = [threading.Thread(target=bad_login) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert Counter(statuses) == {401: FREE, 429: 40 - FREE}
    engine = create_db_engine(postgres_url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(sa.select(LoginFailure.client, LoginFailure.failures))
            assert dict(rows.all()) == {
                "127.0.0.1": FREE,
                EVERY_ADDRESS: FREE,
            }
    finally:
        engine.dispose()
    assert _post_login(webserver, "op", PASSWORD) == 429
