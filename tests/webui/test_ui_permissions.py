"""The web UI's matrix of roles, pages and DAG scope: every page declares its permission.

Cases come from the app's own routes: each UI page and form is opened as each builtin
role, as ``etl_op`` (the Op role limited to DAGs tagged ``etl``) and signed out. Pages of
a DAG (or of a DAG's dead letter or import error) are opened for ``example`` (tag
``etl``) and for ``finance_report`` (tag ``finance``): the limited user gets 404 for the
latter, as the API answers, where the unlimited Op is answered. Lists omit what is
outside the scope.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, g, url_for
from flask.testing import FlaskClient

from engine.models import (
    DagFile,
    DeliveryStatus,
    NotificationDelivery,
    ParseImportError,
    TaskAttempt,
    User,
)
from engine.models.session import create_db_engine, make_session_factory
from engine.security.access import DAG_RESOURCES
from engine.security.roles import BUILTIN_ROLES, OP, Action, Resource, create_role
from engine.security.users import create_user
from engine.services.runs import get_run
from engine.state import TaskInstanceState
from tests.webui.conftest import app_for, world_copy
from tests.webui.resettable import ResettableApp
from tests.webui.spec import ui_routes
from tests.webui.ui import csrf_of
from tests.webui.world import PASSWORD, ROLES, T0, USERNAMES, fail_for_good
from webui import db as webdb
from webui.auth import declared_permission
from webui.auth.tokens import issue_tokens
from webui.db import dispose
from webui.ui.session import ACCESS_COOKIE, csrf_token

SCOPED = "etl_op"
SIGNED_OUT = "signed_out"
CASES = (*ROLES, SCOPED, SIGNED_OUT)
NOT_PAGES = {"ui.static", "ui.home", "ui.login", "ui.logout"}
"""Routes that are not guarded pages: assets, the redirect to /dags, signing in and out."""

IN_SCOPE = {"dag_id": "example", "run_id": "manual__1", "task_id": "extract"}
OUT_OF_SCOPE = {"dag_id": "finance_report", "run_id": "manual__1", "task_id": "report"}
QUERY_ARGS = {"ui.dag_grid_cell": ("run_id", "task_id")}
"""Pages that take their objects' ids in the query string, not the path."""
IDS = {"ui.import_error": (2, 1), "ui.dead_letter": (1, 2)}
"""Object ids (in scope, out of scope): import error 2 is of the file defining both DAGs,
1 of a file defining none; dead letter 1 is of ``example``, 2 of ``finance_report``."""
IDS["ui.replay_dead_letter"] = IDS["ui.discard_dead_letter"] = IDS["ui.dead_letter"]
IDS["ui.retry_notification"] = (1, 2)  # the given-up deliveries of example, finance_report
NAMES = {"pool": "etl", "edit_pool": "etl", "delete_pool": "etl"}
NAMES |= {"role": "Custom", "edit_role": "Custom", "delete_role": "Custom"}

FORMS: dict[str, dict[str, str]] = {
    "ui.trigger": {"conf": "{}"},
    "ui.pause": {"paused": "true"},
    "ui.mark_run_state": {"state": "success"},
    "ui.run_note": {"note": "checked"},
    "ui.clear_run": {"only_failed": "false"},
    "ui.clear_task": {"downstream": "true"},
    "ui.mark_task": {"state": "success"},
    "ui.replay_dead_letter": {},
    "ui.discard_dead_letter": {},
    "ui.retry_notification": {},
    "ui.create_pool": {"name": "gpu", "slots": "1"},
    "ui.edit_pool": {"slots": "9", "description": ""},
    "ui.delete_pool": {},
    "ui.create_user": {"username": "carol", "password": PASSWORD, "roles": "Viewer"},
    "ui.edit_user": {"roles": "Viewer", "is_active": "true"},
    "ui.delete_user": {},
    "ui.create_role": {"name": "Mine", "permissions": "read:dags"},
    "ui.edit_role": {"permissions": "read:dags"},
    "ui.delete_role": {},
    "ui.create_variable": {"key": "fresh", "value": "v"},
    "ui.edit_variable": {"value": "eu-north-1"},
    "ui.delete_variable": {},
    "ui.create_connection": {"conn_id": "fresh", "conn_type": "http"},
    "ui.edit_connection": {"conn_type": "postgres", "host": "db2"},
    "ui.delete_connection": {},
    "ui.import_variables": {"file": '{"fresh": "v"}'},
    "ui.import_connections": {"file": '{"fresh": "http://h"}'},
}
"""A form each POST route accepts from a user who may send it."""


@dataclass(frozen=True)
class Target:
    """One request of the matrix: a page (or form) of an object in or out of the scope."""

    endpoint: str
    method: str
    args: dict[str, Any]
    out_of_scope: bool

    @property
    def id(self) -> str:
        where = "out" if self.out_of_scope else "in"
        extra = "-try" if "try_number" in self.args else ""
        return f"{self.method} {self.endpoint}{extra} ({where})"


def _targets() -> list[Target]:
    """Every UI page and form, with the arguments of each variant."""
    return [
        target
        for endpoint, method, arguments in ui_routes()
        if endpoint not in NOT_PAGES
        for target in _variants(endpoint, method, arguments)
    ]


def _variants(endpoint: str, method: str, arguments: frozenset[str]) -> list[Target]:
    name = endpoint.removeprefix("ui.")
    variants = []
    for out in (False, True):
        if out and "dag_id" not in arguments and "id" not in arguments:
            break  # not an object of a DAG: one variant
        source = OUT_OF_SCOPE if out else IN_SCOPE
        wanted = arguments | set(QUERY_ARGS.get(endpoint, ()))
        args = {key: value for key, value in source.items() if key in wanted}
        if "try_number" in arguments:
            args["try_number"] = 1
        if "id" in arguments:
            args["id"] = IDS[endpoint][out]
        if "name" in arguments:
            args["name"] = NAMES[name]
        if "username" in arguments:
            args["username"] = "victim"
        if "key" in arguments:
            args["key"] = "region"
        if "conn_id" in arguments:
            args["conn_id"] = "warehouse"
        if "asset_id" in arguments:
            args["asset_id"] = 1  # the world's s3://world/raw
        variants.append(Target(endpoint, method, args, out))
    return variants


TARGETS = _targets()


def _add_scope_world(url: str) -> None:
    """Beside the test world: ``etl_op``; a try, a dead letter and alert deliveries of
    ``finance_report``; an import error of the file defining both DAGs; ``mixed``, who
    reads every DAG but the runs of ``etl`` DAGs only."""
    engine = create_db_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            op = [(a.value, r.value) for a, r in OP]
            create_role(session=session, name="EtlOp", permissions=op, dag_tags=["etl"])
            create_user(session=session, username=SCOPED, password=PASSWORD, role_names=["EtlOp"])
            create_role(session=session, name="DagReader", permissions=[("read", "dags")])
            create_role(
                session=session,
                name="EtlRunReader",
                permissions=[("read", "dag_runs")],
                dag_tags=["etl"],
            )
            create_user(
                session=session,
                username="mixed",
                password=PASSWORD,
                role_names=["DagReader", "EtlRunReader"],
            )
            _finance_history(session)
            [path] = session.scalars(sa.select(DagFile.path))
            session.add(ParseImportError(filename=path, message="ImportError: half saved"))
            for dag_id in ("example", "finance_report"):
                session.add(_delivery(dag_id))
    finally:
        engine.dispose()


def _finance_history(session: Any) -> None:
    run = get_run(session=session, dag_id="finance_report", run_id="manual__1")
    [ti] = run.task_instances
    ti.try_number = 1
    ti.state = TaskInstanceState.FAILED
    attempt = TaskAttempt(task_instance=ti, try_number=1, state="failed", log="no\n", rendered={})
    session.add(attempt)
    session.flush()
    fail_for_good(session, run, ti, "KeyError", "ledger")


def _delivery(dag_id: str) -> NotificationDelivery:
    return NotificationDelivery(
        event_id=f"e-{dag_id}",
        event_type="dag_run.failed",
        channel="webhook",
        target="ops",
        recipients=[],
        dag_id=dag_id,
        run_id="manual__1",
        payload={},
        status=DeliveryStatus.FAILED,  # given up: Retry applies
        attempts=1,
        next_attempt_at=T0,
        created_at=T0,
    )


@dataclass
class Matrix(ResettableApp):
    """One app for the module; its SQLite file is reset from the module's template when a
    request may have changed it."""

    sign_ins: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Case → (access token, CSRF token)."""

    def client(self, case: str) -> tuple[FlaskClient, str]:
        """A client signed in as ``case`` (with no cookie when signed out) and its CSRF token."""
        client = self.app.test_client()
        if case == SIGNED_OUT:
            return client, csrf_of(client.get("/login").get_data(as_text=True))
        access, csrf = self.sign_ins[case]
        client.set_cookie(ACCESS_COOKIE, access)
        return client, csrf


@pytest.fixture(scope="module")
def matrix(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    root = tmp_path_factory.mktemp("ui-matrix")
    module_template, db_file = root / "template.db", root / "loom.db"
    _add_scope_world(world_copy(template, module_template))
    shutil.copy(module_template, db_file)
    app = app_for(f"sqlite:///{db_file}", root, template / "dags")
    with app.app_context():
        sign_ins = _sign_ins(app)
        webdb.session().close()
    yield Matrix(app, module_template, db_file, sign_ins=sign_ins)
    dispose(app)


def _sign_ins(app: Flask) -> dict[str, tuple[str, str]]:
    users = {u.username: u for u in webdb.session().scalars(sa.select(User))}
    found = {}
    for case in (*ROLES, SCOPED, "mixed"):
        tokens = issue_tokens(users[USERNAMES.get(case, case)])
        with app.test_request_context():
            g.loom_sign_in = {"sid": tokens.session_id}
            found[case] = (tokens.access_token, csrf_token())
    return found


def _permissions(case: str) -> frozenset[tuple[Action, Resource]]:
    return OP if case == SCOPED else BUILTIN_ROLES[case][1]


def expected(permission: str, case: str, out_of_scope: bool) -> str:
    """``ok``, ``login``, ``403`` or ``404`` for ``case`` on a page needing ``permission``."""
    if case == SIGNED_OUT:
        return "login"
    action, resource = Action(permission.split(":")[0]), Resource(permission.split(":")[1])
    if (action, resource) not in _permissions(case):
        return "403"
    if case == SCOPED and out_of_scope and resource in DAG_RESOURCES:
        return "404"
    return "ok"


def outcome(status: int, location: str) -> str:
    if status in (301, 302, 303) and location.startswith("/login"):
        return "login"
    return "ok" if status < 400 else str(status)


def test_every_page_declares_a_permission_and_has_an_example(matrix: Matrix) -> None:
    assert len(TARGETS) >= 50
    for target in TARGETS:
        permission = declared_permission(matrix.app.view_functions[target.endpoint])
        assert permission is not None, target.endpoint
        assert ":" in permission, target.endpoint
        if target.method == "POST":
            assert target.endpoint in FORMS, f"add an example form for {target.endpoint}"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("target", TARGETS, ids=[t.id for t in TARGETS])
def test_ui_role_matrix(matrix: Matrix, target: Target, case: str) -> None:
    matrix.reset()
    client, csrf = matrix.client(case)
    with matrix.app.test_request_context():
        url = url_for(target.endpoint, **target.args)
    if target.method == "GET":
        reply = client.get(url)
    else:
        reply = client.post(url, data={"csrf_token": csrf, **FORMS[target.endpoint]})
        matrix.dirty = matrix.dirty or reply.status_code < 400
    permission = declared_permission(matrix.app.view_functions[target.endpoint])
    assert permission is not None
    got = outcome(reply.status_code, reply.headers.get("Location", ""))
    want = expected(permission, case, target.out_of_scope)
    assert got == want, (reply.status_code, reply.get_data(as_text=True)[:500])


def _page(matrix: Matrix, case: str, path: str) -> str:
    matrix.reset()
    client, _csrf = matrix.client(case)
    reply = client.get(path)
    assert reply.status_code == 200, path
    return reply.get_data(as_text=True)


@pytest.mark.parametrize(("case", "sees_finance"), [("Op", True), (SCOPED, False)])
def test_lists_omit_what_is_outside_the_scope(
    matrix: Matrix, case: str, sees_finance: bool
) -> None:
    dags = _page(matrix, case, "/dags")
    assert 'data-dag="example"' in dags
    assert ('data-dag="finance_report"' in dags) is sees_finance
    # The banner of broken DAG files: 2 defines example, 1 defines no DAG at all.
    assert 'href="/import-errors/2"' in dags
    assert ('href="/import-errors/1"' in dags) is sees_finance
    letters = _page(matrix, case, "/dead-letters?status=all")
    assert 'href="/dead-letters/1"' in letters
    assert ('href="/dead-letters/2"' in letters) is sees_finance
    alerts = _page(matrix, case, "/notifications")
    assert "/dags/example/" in alerts
    assert ("/dags/finance_report/" in alerts) is sees_finance
    assert ("finance_report" in _page(matrix, case, "/dags?search=report")) is sees_finance


def test_runs_show_only_where_the_run_permission_reaches(matrix: Matrix) -> None:
    """``mixed`` reads every DAG, but the runs of ``etl`` DAGs only."""
    finance = _page(matrix, "mixed", "/dags/finance_report")
    assert "/dags/finance_report/runs/manual__1" not in finance
    assert 'href="/dags/finance_report/runs"' not in finance  # no Runs tab
    graph = _page(matrix, "mixed", "/dags/finance_report/graph")
    assert "manual__1" not in graph
    assert "manual__1" not in _page(matrix, "mixed", "/dags/finance_report/grid/data")
    example = _page(matrix, "mixed", "/dags/example/grid/data")
    assert "/dags/example/runs/manual__1" in example
    listed = _page(matrix, "mixed", "/dags")
    assert "/dags/example/runs/manual__1" in listed
    assert "/dags/finance_report/runs/manual__1" not in listed
    client, _csrf = matrix.client("mixed")
    assert client.get("/dags/finance_report/runs").status_code == 404
