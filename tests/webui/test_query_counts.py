"""The list endpoints take a constant number of SQL statements, however long the page.

Statement counts are machine-independent: a list that read each row's relations one by
one (an N+1) would take 100+ statements for a page of 100 (what bench/api_bench.py would
show as latency). Each request also pays for its token check in one statement.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.models.session import create_db_engine, make_session_factory
from engine.parser import ParseOptions, refresh_dags
from engine.services import dags as dag_service
from engine.services.runs import trigger_dag
from tests.webui.conftest import app_for, bearer, login
from tests.webui.world import T0, build_world

MANY = 30
DAGS_FILE = textwrap.dedent(
    f"""
    from datetime import datetime
    from engine import DAG, EmptyOperator

    for number in range({MANY}):
        with DAG(f"many_{{number:02d}}", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
            for task in range({MANY}):
                EmptyOperator(task_id=f"t{{task:02d}}")
        globals()[f"dag_{{number}}"] = dag
    """
)

MOST_PER_REQUEST = 8
"""Token check, count, page, graphs (two when not cached): what a list needs, with room."""


@pytest.fixture(scope="module")
def many_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test world plus MANY DAGs of MANY tasks, each with one run (built once: the
    tests only read it)."""
    tmp_path = tmp_path_factory.mktemp("many")
    url = f"sqlite:///{tmp_path / 'many.db'}"
    world = build_world(url, tmp_path / "dags")
    (world.dags_folder / "many_dags.py").write_text(DAGS_FILE)
    engine = create_db_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            refresh_dags(
                session=session,
                options=ParseOptions(world.dags_folder, timeout=60, parallelism=1),
                now=T0,
            )
            for number in range(MANY):
                trigger_dag(session=session, dag_id=f"many_{number:02d}", run_id="r1", now=T0)
    finally:
        engine.dispose()
    return tmp_path


@pytest.fixture
def many_app(many_world: Path, tmp_path: Path) -> Flask:
    return app_for(f"sqlite:///{many_world / 'many.db'}", tmp_path, many_world / "dags")


@pytest.fixture
def statements(many_app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs from here on."""
    seen: list[str] = []
    engine = many_app.extensions["loom.sessions"].kw["bind"]

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def _count(client: FlaskClient, path: str, headers: dict[str, str], seen: list[str]) -> int:
    """Statements one GET of ``path`` took, with no graph cached."""
    dag_service._PARSED_DAGS.clear()
    seen.clear()
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_json()
    return len(seen)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/dags?limit={n}",
        "/api/v2/dags/many_03/dagRuns/r1/taskInstances?limit={n}",
        "/api/v2/dags/~/dagRuns/~/taskInstances?limit={n}",
        "/api/v2/dags/~/dagRuns?limit={n}",
        "/api/v2/dags/many_03/dagRuns?limit={n}",
    ],
)
def test_a_page_of_many_takes_as_many_statements_as_a_page_of_one(
    many_app: Flask, statements: list[str], path: str
) -> None:
    client = many_app.test_client()
    headers = bearer(login(client, "admin")["access_token"])
    one = _count(client, path.format(n=1), headers, statements)
    many = _count(client, path.format(n=MANY), headers, statements)
    assert many == one, statements
    assert many <= MOST_PER_REQUEST, statements


def test_the_token_check_is_one_statement(many_app: Flask, statements: list[str]) -> None:
    """User, roles, permissions and the revocation, read afresh on every request."""
    client = many_app.test_client()
    headers = bearer(login(client, "admin")["access_token"])
    statements.clear()
    assert client.get("/api/v2/pools", headers=headers).status_code == 200
    token_checks = [s for s in statements if "revoked_session" in s]
    assert len(token_checks) == 1, statements
    others = [s for s in statements if s not in token_checks]
    assert not [s for s in others if "role" in s or "permission" in s], statements


def test_a_role_taken_away_elsewhere_is_refused_at_the_next_request(
    many_app: Flask, many_world: Path
) -> None:
    """No cache between requests: what another webserver process (here: another
    connection) changes in the roles holds from the next request on."""
    client = many_app.test_client()
    headers = bearer(login(client, "viewer")["access_token"])
    assert client.get("/api/v2/dags", headers=headers).status_code == 200
    engine = create_db_engine(f"sqlite:///{many_world / 'many.db'}")
    try:
        with engine.begin() as conn:
            user_id = conn.scalar(sa.text("SELECT id FROM user WHERE username = 'viewer'"))
            conn.execute(sa.text("DELETE FROM user_role WHERE user_id = :id"), {"id": user_id})
        assert client.get("/api/v2/dags", headers=headers).status_code == 403
    finally:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO user_role (user_id, role_id) "
                    "SELECT :id, id FROM role WHERE name = 'Viewer'"
                ),
                {"id": user_id},
            )
        engine.dispose()
