"""Every operation declares a permission, and the role-by-operation matrix holds.

Cases come from the OpenAPI document: each operation is called as each builtin role
(allowed → 2xx, forbidden → 403), without a token, and with an expired, revoked,
tampered and ``alg: none`` token (→ 401 unless the operation is public).
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

from engine.models import User
from engine.security.roles import BUILTIN_ROLES, Action, Resource
from tests.webui.conftest import app_for
from tests.webui.resettable import ResettableApp
from tests.webui.spec import operations
from tests.webui.world import PASSWORD, REVOKED_SID, ROLES, USERNAMES
from webui import db as webdb
from webui.auth.tokens import issue_tokens
from webui.db import dispose

BAD_TOKENS = ("expired", "revoked", "tampered", "alg_none")
CASES = (*ROLES, "no_token", *BAD_TOKENS)
OPERATIONS = operations()

PARAMS = {
    "dag_id": "example",
    "run_id": "manual__1",
    "task_id": "extract",
    "try_number": "1",
    "map_index": "-1",
    "pool_name": "etl",
    "dead_letter_id": "1",
    "import_error_id": "1",
    "username": "victim",
    "role_name": "Custom",
    "version_number": "1",
    "variable_key": "region",
    "connection_id": "warehouse",
    "asset_id": "1",
}
RUN = "/api/v1/dags/{dag_id}/dagRuns/{run_id}"
TI = f"{RUN}/taskInstances/{{task_id}}"
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/auth/login"): {"username": "viewer", "password": PASSWORD},
    ("patch", "/api/v1/dags/{dag_id}"): {"is_paused": True},
    ("post", "/api/v1/dags/{dag_id}/dagRuns"): {"conf": {"n": 5}},
    ("patch", RUN): {"state": "success"},
    ("post", f"{RUN}/clear"): {"task_ids": ["extract"], "downstream": True},
    ("patch", TI): {"state": "success"},
    ("patch", f"{TI}/{{map_index}}"): {"state": "success"},
    ("post", f"{TI}/clear"): {"downstream": True},
    ("post", "/api/v1/pools"): {"name": "fresh", "slots": 2},
    ("patch", "/api/v1/pools/{pool_name}"): {"slots": 8},
    ("post", "/api/v1/variables"): {"key": "fresh", "value": "v"},
    ("patch", "/api/v1/variables/{variable_key}"): {"value": "eu-north-1"},
    ("post", "/api/v1/connections"): {"connection_id": "fresh", "conn_type": "http"},
    ("post", "/api/v1/connections/test"): {
        "connection_id": "probe",
        "conn_type": "sqlite",
        "host": ":memory:",
    },
    ("put", "/api/v1/connections/{connection_id}"): {
        "connection_id": "warehouse",
        "conn_type": "postgres",
        "host": "db2",
    },
    ("post", "/api/v1/users"): {"username": "newbie", "password": PASSWORD, "roles": ["Viewer"]},
    ("patch", "/api/v1/users/{username}"): {"full_name": "Vic Tim"},
    ("post", "/api/v1/roles"): {
        "name": "Another",
        "permissions": [{"action": "read", "resource": "dags"}],
    },
    ("patch", "/api/v1/roles/{role_name}"): {"description": "changed"},
    ("post", "/api/v1/assets/events"): {"asset_id": 1, "extra": {"from": "matrix"}},
}


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
    db_file = root / "loom.db"
    shutil.copy(template / "template.db", db_file)
    # Connection testing enabled, so that the matrix sees its permission, not the setting.
    core = {"test_connection": "Enabled"}
    app = app_for(f"sqlite:///{db_file}", root, template / "dags", core=core)
    with app.app_context():
        tokens = _tokens()
        webdb.session().close()
    yield Matrix(app, template / "template.db", db_file, tokens=tokens)
    dispose(app)


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
    url = path.format(**PARAMS)
    body = BODIES.get((method, path))
    response = matrix.app.test_client().open(url, method=method.upper(), headers=headers, json=body)
    matrix.dirty = matrix.dirty or method != "get"
    status = response.status_code
    got = "2xx" if 200 <= status < 300 else str(status)
    assert got == expected(permission, case), (status, response.get_json())
    if got != "2xx":
        assert set(response.get_json()) == {"code", "message", "errors"}


def test_the_app_refuses_an_api_view_without_a_declared_permission(app: Flask) -> None:
    from webui.api import _check_declarations

    _check_declarations(app)  # the real app passes
    app.view_functions["dags.undeclared"] = lambda: None
    with pytest.raises(RuntimeError, match=r"dags\.undeclared"):
        _check_declarations(app)
