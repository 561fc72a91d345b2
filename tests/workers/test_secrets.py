"""Tasks on a worker read variables and connections from the database (encrypted there),
and the secrets they read are masked in their stored logs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from engine.authoring.connection import Connection
from engine.config.masking import forget_secrets
from engine.execution import secrets
from engine.models.crypto import Crypter
from engine.services.connections import save_connection
from engine.services.variables import set_variable
from engine.state import TaskInstanceState
from tests.workers.conftest import (
    Sessions,
    attempts,
    create_run,
    folder_holding,
    run_first_try,
)
from workers import RunnerContext

dags_folder = folder_holding("secrets_dag.py")


@pytest.fixture
def stored(sessions: Sessions) -> Iterator[None]:
    crypter = Crypter([Fernet.generate_key().decode()])
    with sessions.begin() as session:
        set_variable(session=session, crypter=crypter, key="api_token", value="tok-0123456789")
        set_variable(session=session, crypter=crypter, key="region", value="eu-west-1")
        conn = Connection("warehouse", uri="postgresql://loader:hunter22!@dbhost:5432/dw")
        save_connection(session=session, crypter=crypter, conn=conn)
    secrets.configure(secrets.SecretsStore(sessions, crypter))
    try:
        yield
    finally:
        secrets.configure(None)
        forget_secrets()  # what the tasks read is masked no longer in this test process


def run_and_read(
    sessions: Sessions, ctx: RunnerContext, task_id: str, run_pk: int
) -> tuple[str, dict[str, Any]]:
    """Run ``task_id``'s first try; its stored log and rendered fields."""
    state, ti_id = run_first_try(sessions, ctx, task_id, run_pk)
    assert state is TaskInstanceState.SUCCESS
    [attempt] = attempts(sessions, ti_id)
    return attempt.log or "", attempt.rendered or {}


def test_a_task_reads_them_and_its_log_masks_them(
    sessions: Sessions, ctx: RunnerContext, stored: None
) -> None:
    run_pk = create_run(sessions, dag_id="secrets")
    log, _ = run_and_read(sessions, ctx, "read", run_pk)
    assert "connecting to dbhost as loader with ***" in log
    assert "token is *** and region eu-west-1" in log
    assert "hunter22!" not in log
    assert "tok-0123456789" not in log
    templated, rendered = run_and_read(sessions, ctx, "templated", run_pk)
    assert "host=dbhost pw=*** region=eu-west-1" in templated
    assert rendered["bash_command"] == "echo host=dbhost pw=*** region=eu-west-1"
