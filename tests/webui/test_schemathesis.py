"""schemathesis against the live app, in process, over every operation of the OpenAPI
document on PostgreSQL: no 5xx, and every response matches its documented schema."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from engine.models import User
from webui import db
from webui.auth.tokens import issue_tokens

MAX_EXAMPLES = 6
"""Examples per operation: bounds the run to well under a minute."""

CHECKS = [not_a_server_error, response_schema_conformance]


def _admin_headers(app: Flask) -> Callable[[], dict[str, str]]:
    """A fresh admin token per call: a generated logout must not sign out later cases."""
    with app.app_context():
        admin = db.session().scalars(sa.select(User).where(User.username == "admin")).one()
        db.session().close()

    def headers() -> dict[str, str]:
        with app.app_context():
            return {"Authorization": f"Bearer {issue_tokens(admin).access_token}"}

    return headers


@pytest.mark.postgres
@pytest.mark.slow
def test_every_operation_survives_generated_requests(pg_app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v2/openapi.json", pg_app)
    headers = _admin_headers(pg_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 90
    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers(), checks=CHECKS)

        try:
            check()
        except Exception as exc:
            raise AssertionError(f"{operation.label}: {exc}") from exc
