"""Every operation declares a permission, and the role-by-operation matrix holds.

Cases come from the OpenAPI document: each ``/api/v2`` operation (Airflow's, Loom's own
resources, and login, refresh, logout and me at the root) is called as each builtin role
(allowed → 2xx, forbidden → 403), without a token, and with an expired, revoked, tampered
and ``alg: none`` token (→ 401 unless the operation is public).
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_jwt_extended import create_access_token

from engine.models import (
    AssetAliasModel,
    AssetDagRunQueue,
    Backfill,
    Dag,
    DeliveryStatus,
    NotificationDelivery,
    ParseImportError,
    User,
)
from engine.models.security import AuditLog
from engine.security.roles import BUILTIN_ROLES, Action, Resource
from tests.support.database import database_sessions
from tests.webui.conftest import app_for, parse_new_files, world_copy, world_dags_copy
from tests.webui.resettable import ResettableApp
from tests.webui.spec import operations
from tests.webui.world import PASSWORD, REVOKED_SID, ROLES, T0, USERNAMES
from webui import db as webdb
from webui.auth.tokens import issue_tokens
from webui.db import dispose

BAD_TOKENS = ("expired", "revoked", "tampered", "alg_none")
CASES = (*ROLES, "no_token", *BAD_TOKENS)

OPERATIONS = operations("v2")

LOOM_ONLY = (
    "/auth/refresh",
    "/auth/logout",
    "/auth/me",
    "/api/v2/deadLetters",
    "/api/v2/notifications",
    "/api/v2/users",
    "/api/v2/roles",
    "/api/v2/permissions",
    "/api/v2/auditLog",
    "/api/v2/dags/{dag_id}/dagVersions",
)
"""Loom's own resources and DAG versions (once only on the first API): the matrix covers each."""

PARAMS = {
    "dag_id": "example",
    "dag_run_id": "manual__1",
    "run_id": "manual__1",
    "task_id": "extract",
    "try_number": "1",
    "task_try_number": "1",
    "map_index": "-1",
    "xcom_key": "rows",
    "pool_name": "etl",
    "dead_letter_id": "1",
    "import_error_id": "1",
    "event_log_id": "1",
    "username": "victim",
    "role_name": "Custom",
    "version_number": "1",
    "variable_key": "region",
    "connection_id": "warehouse",
    "asset_id": "1",
    "asset_alias_id": "1",
    "backfill_id": "1",
    "notification_id": "1",
}
RUN = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}"
TI = f"{RUN}/taskInstances/{{task_id}}"
BATCH_RUNS = "/api/v2/dags/{dag_id}/dagRuns/list"
BACKFILL = {
    "dag_id": "daily",
    "from_date": "2026-01-01T00:00:00Z",
    "to_date": "2026-01-02T00:00:00Z",
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/auth/token"): {"username": "viewer", "password": PASSWORD},
    ("post", "/auth/token/cli"): {"username": "viewer", "password": PASSWORD},
    ("patch", "/api/v2/dags/{dag_id}"): {"is_paused": True},
    ("post", "/api/v2/dags/{dag_id}/dagRuns"): {"conf": {"n": 5}, "logical_date": None},
    ("post", BATCH_RUNS): {"dag_ids": ["example"]},
    ("patch", RUN): {"state": "success"},
    ("post", f"{RUN}/clear"): {"dry_run": False},
    ("patch", TI): {"new_state": "success"},
    ("patch", f"{TI}/{{map_index}}"): {"new_state": "success"},
    ("post", "/api/v2/dags/{dag_id}/clearTaskInstances"): {
        "dag_run_id": "manual__1",
        "task_ids": ["extract"],
        "include_downstream": True,
        "only_failed": False,
        "dry_run": False,
    },
    ("post", "/api/v2/pools"): {"name": "fresh", "slots": 2},
    ("patch", "/api/v2/pools/{pool_name}"): {"slots": 8},
    ("post", "/api/v2/variables"): {"key": "fresh", "value": "v"},
    ("patch", "/api/v2/variables/{variable_key}"): {"key": "region", "value": "eu-north-1"},
    ("post", "/api/v2/connections"): {"connection_id": "fresh", "conn_type": "http"},
    ("post", "/api/v2/connections/test"): {
        "connection_id": "probe",
        "conn_type": "sqlite",
        "host": ":memory:",
    },
    ("patch", "/api/v2/connections/{connection_id}"): {
        "connection_id": "warehouse",
        "conn_type": "postgres",
        "host": "db2",
    },
    ("post", "/api/v2/assets/events"): {"asset_id": 1, "extra": {"from": "matrix"}},
    ("post", "/api/v2/backfills"): BACKFILL,
    ("post", "/api/v2/backfills/dry_run"): BACKFILL,
    ("patch", "/api/v2/dags"): {"is_paused": True},
    ("patch", "/api/v2/pools"): {
        "actions": [{"action": "update", "entities": [{"name": "etl", "slots": 9}]}]
    },
    ("patch", "/api/v2/variables"): {
        "actions": [{"action": "update", "entities": [{"key": "region", "value": "eu"}]}]
    },
    ("patch", "/api/v2/connections"): {
        "actions": [
            {
                "action": "update",
                "entities": [{"connection_id": "warehouse", "conn_type": "postgres"}],
            }
        ]
    },
    ("post", "/api/v2/users"): {"username": "newbie", "password": PASSWORD, "roles": ["Viewer"]},
    ("patch", "/api/v2/users/{username}"): {"full_name": "Vic Tim"},
    ("post", "/api/v2/roles"): {
        "name": "Another",
        "permissions": [{"action": "read", "resource": "dags"}],
    },
    ("patch", "/api/v2/roles/{role_name}"): {"description": "changed"},
}
PATH_PARAMS = {("post", BATCH_RUNS): {"dag_id": "~"}}
"""Parameters of a path that differ from PARAMS (the batch list of runs takes ``~``)."""
QUERIES = {("get", "/api/v2/backfills"): "?dag_id=daily"}
"""Query strings an operation requires (Airflow's list of backfills: ``dag_id``)."""

DAILY = """
from datetime import datetime
from engine import DAG, Asset, EmptyOperator

with DAG("daily", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False):
    EmptyOperator(task_id="land", outlets=[Asset("s3://world/raw")])
"""
"""A scheduled DAG to backfill, the producer of asset 1 (to materialize it)."""


def test_every_operation_declares_a_permission() -> None:
    assert len(OPERATIONS) >= 40
    missing = [f"{m.upper()} {p}" for m, p, op in OPERATIONS if not op.get("x-permission")]
    assert missing == []
    for _method, _path, operation in OPERATIONS:
        permission = operation["x-permission"]
        if ":" in permission:
            action, resource = permission.split(":")
            Action(action), Resource(resource)  # in the catalogue
        else:
            assert permission in {"public", "authenticated", "refresh"}


def test_loom_s_own_resources_are_in_the_matrix() -> None:
    paths = {path for _method, path, _operation in OPERATIONS}
    for prefix in LOOM_ONLY:
        assert any(path.startswith(prefix) for path in paths), prefix


def test_every_operation_has_an_example_request() -> None:
    for method, path, operation in OPERATIONS:
        if "requestBody" in operation and operation["requestBody"].get("required"):
            assert (method, path) in BODIES, f"add an example body for {method} {path}"


@dataclass
class Matrix(ResettableApp):
    """One app for the whole module; its SQLite file is reset from the template when dirty."""

    tokens: dict[str, dict[str, str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def matrix(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    root = tmp_path_factory.mktemp("matrix")
    seeded, dags = _seeded_template(template, root)
    db_file = root / "loom.db"
    shutil.copy(seeded, db_file)
    # Connection testing enabled, so that the matrix sees its permission, not the setting.
    core = {"test_connection": "Enabled"}
    app = app_for(f"sqlite:///{db_file}", root, dags, core=core)
    with app.app_context():
        tokens = _tokens()
        webdb.session().close()
    yield Matrix(app, seeded, db_file, tokens=tokens)
    dispose(app)


def _seeded_template(template: Path, root: Path) -> tuple[Path, Path]:
    """The test world plus what the matrix's ids name: a scheduled DAG producing asset 1,
    backfill 1, asset alias 1, a queued event of asset 1 for ``example``, event log 1,
    notification 1, given up (and import error 1 again)."""
    seeded = root / "matrix-template.db"
    url = world_copy(template, seeded)
    dags = world_dags_copy(template, root, **{"daily.py": DAILY})
    parse_new_files(url, dags)
    with database_sessions(url) as sessions, sessions.begin() as session:
        session.execute(sa.update(Dag).where(Dag.dag_id == "daily").values(is_paused=False))
        session.add_all(
            [
                Backfill(id=1, dag_id="daily", from_date=T0, to_date=T0),
                AssetAliasModel(id=1, name="matrix-alias"),
                AssetDagRunQueue(asset_id=1, target_dag_id="example", created_at=T0),
                AuditLog(id=1, username="admin", action="GET", target="/", outcome="success"),
                NotificationDelivery(
                    id=1,
                    event_id="e1",
                    channel="webhook",
                    target="ops",
                    dag_id="example",
                    status=DeliveryStatus.FAILED,  # given up: retrying it is allowed
                ),
                # the world's, which this parse of another folder dropped
                ParseImportError(id=1, filename="/dags/broken.py", message="SyntaxError: bad"),
            ]
        )
    return seeded, dags


def _tokens() -> dict[str, dict[str, str]]:
    """Per case: ``access`` and ``refresh`` tokens to send (absent: no header)."""
    session = webdb.session()
    users = {u.username: u for u in session.scalars(sa.select(User))}
    tokens: dict[str, dict[str, str]] = {"no_token": {}}
    for role in ROLES:
        pair = issue_tokens(users[USERNAMES[role]])
        tokens[role] = {"access": pair.access_token, "refresh": pair.refresh_token}
    admin = users["admin"]
    claims = {"ver": admin.token_version, "name": "admin"}
    valid = create_access_token(str(admin.id), additional_claims={**claims, "sid": "x"})
    bad = {
        "expired": create_access_token(
            str(admin.id),
            additional_claims={**claims, "sid": "x"},
            expires_delta=timedelta(seconds=-30),
        ),
        "revoked": create_access_token(
            str(admin.id), additional_claims={**claims, "sid": REVOKED_SID}
        ),
        "tampered": _tamper(valid),
        "alg_none": _alg_none(valid),
    }
    for name, token in bad.items():
        tokens[name] = {"access": token, "refresh": token}
    return tokens


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _payload(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return result


def _tamper(token: str) -> str:
    header, _payload_part, signature = token.split(".")
    payload = {**_payload(token), "name": "someone-else", "ver": 0}
    return f"{header}.{_b64(payload)}.{signature}"


def _alg_none(token: str) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_payload(token))}."


def expected(permission: str, case: str) -> str:
    """``2xx``, ``403`` or ``401`` for ``case`` on an operation needing ``permission``."""
    if permission == "public":
        return "2xx"
    if case not in ROLES:
        return "401"
    if permission in {"authenticated", "refresh"}:
        return "2xx"
    action, resource = permission.split(":")
    allowed = (Action(action), Resource(resource)) in BUILTIN_ROLES[case][1]
    return "2xx" if allowed else "403"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(
    ("method", "path", "operation"),
    OPERATIONS,
    ids=[f"{m.upper()} {p}" for m, p, _ in OPERATIONS],
)
def test_role_matrix(
    matrix: Matrix, method: str, path: str, operation: dict[str, Any], case: str
) -> None:
    matrix.reset()
    permission = operation["x-permission"]
    token = matrix.tokens[case].get("refresh" if permission == "refresh" else "access")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = path.format(**{**PARAMS, **PATH_PARAMS.get((method, path), {})})
    url += QUERIES.get((method, path), "")
    body = BODIES.get((method, path))
    response = matrix.app.test_client().open(url, method=method.upper(), headers=headers, json=body)
    matrix.dirty = matrix.dirty or method != "get"
    status = response.status_code
    got = "2xx" if 200 <= status < 300 else str(status)
    assert got == expected(permission, case), (status, response.get_json())
    if got != "2xx":  # with Airflow 3's ``detail``, which its clients read
        assert set(response.get_json()) == {"code", "message", "errors", "detail"}


def test_the_app_refuses_an_api_view_without_a_declared_permission(app: Flask) -> None:
    from webui.api.v2 import _check_declarations

    _check_declarations(app)  # the real app passes
    app.view_functions["dags.undeclared"] = lambda: None
    with pytest.raises(RuntimeError, match=r"dags\.undeclared"):
        _check_declarations(app)
