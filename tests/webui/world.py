"""A small Loom world for API tests: DAGs, a run with a failed task, users of every role.

Built once into a SQLite template (copied per test) and, for PostgreSQL tests, into a
fresh database. Every object the role matrix's example requests name exists here.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from engine.authoring.assets import Asset
from engine.authoring.connection import Connection
from engine.models import (
    DagRun,
    ParseImportError,
    Pool,
    RevokedSession,
    TaskAttempt,
    TaskInstance,
    XCom,
    migrate,
)
from engine.models.crypto import Crypter
from engine.models.session import create_db_engine, make_session_factory
from engine.parser import ParseOptions, refresh_dags
from engine.security.roles import VIEWER, create_role
from engine.security.users import create_user
from engine.services.assets import asset_ids_of
from engine.services.connections import save_connection
from engine.services.deadletters import record_dead_letter
from engine.services.runs import get_run, trigger_dag
from engine.services.variables import set_variable
from engine.state import TaskInstanceState
from webui import db

SECRET = "test-secret-key-that-is-long-enough-for-hs256"
PASSWORD = "correct-horse-battery"
T0 = datetime(2026, 1, 5, tzinfo=UTC)
ROLES = ("Viewer", "User", "Op", "Admin")
USERNAMES = {role: role.lower() for role in ROLES}
REVOKED_SID = "revoked-sign-in"

DAG_FILE = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, Param, BashOperator

    with DAG("example", schedule=None, start_date=datetime(2026, 1, 1), tags=["etl"],
             params={"n": Param(1, type="integer"), "region": "eu"},
             description="An ETL example") as dag:
        extract = BashOperator(task_id="extract", bash_command="echo extracting {{ params.n }}")
        load = BashOperator(task_id="load", bash_command="echo loading",
                            task_display_name="Load rows", doc_md="Loads <b>rows</b>.")
        extract >> load

    with DAG("finance_report", schedule=None, start_date=datetime(2026, 1, 1),
             tags=["finance"]) as finance:
        BashOperator(task_id="report", bash_command="echo report")
    """
)


@dataclass(frozen=True)
class World:
    url: str
    dags_folder: Path


def build_world(url: str, folder: Path) -> World:
    """Migrate ``url`` and fill it with the test world; DAG files go to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "example_dags.py").write_text(DAG_FILE)
    migrate.upgrade_and_seed(url)
    engine = create_db_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            refresh_dags(
                session=session, options=ParseOptions(folder, timeout=60, parallelism=1), now=T0
            )
            _people(session)
            _history(session)
    finally:
        engine.dispose()
    return World(url, folder)


@contextmanager
def app_session(app: Flask) -> Iterator[sa.orm.Session]:
    """A session on ``app``'s database, committed when the block ends."""
    with app.app_context():
        session = db.session()
        yield session
        session.commit()


def attempt_of(session: sa.orm.Session, task_id: str, try_number: int) -> TaskAttempt:
    """The world's one run's try ``try_number`` of ``task_id``."""
    return session.scalars(
        sa.select(TaskAttempt)
        .join(TaskInstance)
        .where(TaskInstance.task_id == task_id, TaskAttempt.try_number == try_number)
    ).one()


def fail_for_good(
    session: sa.orm.Session, run: DagRun, ti: TaskInstance, error_type: str, message: str
) -> None:
    """Park ``ti``'s failed try as a dead letter, as worker w1 would have at T0."""
    record_dead_letter(
        session=session,
        ti=ti,
        dag_run=run,
        error_type=error_type,
        message=message,
        traceback=None,
        worker_host="w1",
        now=T0,
    )


def _people(session: sa.orm.Session) -> None:
    for role, username in USERNAMES.items():
        create_user(session=session, username=username, password=PASSWORD, role_names=[role])
    create_user(session=session, username="victim", password=PASSWORD, role_names=["Viewer"])
    pairs = [(a.value, r.value) for a, r in VIEWER]
    create_role(session=session, name="Custom", permissions=pairs[:2])
    create_role(session=session, name="EtlViewer", permissions=pairs, dag_tags=["etl"])
    create_user(session=session, username="etl", password=PASSWORD, role_names=["EtlViewer"])
    session.add(Pool(name="etl", slots=4, description="ETL jobs"))
    crypter = Crypter([])  # the test apps' settings have no Fernet key
    set_variable(session=session, crypter=crypter, key="region", value="eu-west-1")
    set_variable(session=session, crypter=crypter, key="api_token", value="tok-secret-1")
    warehouse = Connection("warehouse", uri="postgresql://loader:hunter22@db:5432/dw")
    save_connection(session=session, crypter=crypter, conn=warehouse)
    asset_ids_of([Asset("s3://world/raw")], session=session)  # asset 1
    session.add(
        RevokedSession(session_id=REVOKED_SID, user_id=None, expires_at=T0 + timedelta(days=3650))
    )


def _history(session: sa.orm.Session) -> None:
    """Run manual__1 of ``example``: extract failed for good (try 1 logged), a dead letter."""
    trigger_dag(session=session, dag_id="example", run_id="manual__1", now=T0, conf={"n": 2})
    trigger_dag(session=session, dag_id="finance_report", run_id="manual__1", now=T0)
    run = get_run(session=session, dag_id="example", run_id="manual__1")
    ti = next(ti for ti in run.task_instances if ti.task_id == "extract")
    ti.try_number = 1
    ti.state = TaskInstanceState.FAILED
    session.add(
        TaskAttempt(
            task_instance=ti,
            try_number=1,
            state="failed",
            log="extracting 2\nfailed\n",
            rendered={},
        )
    )
    session.add(
        XCom(
            dag_id="example", run_id="manual__1", task_id="extract", key="rows", value={"count": 3}
        )
    )
    fail_for_good(session, run, ti, "ValueError", "boom")
    session.add(ParseImportError(filename="/dags/broken.py", message="SyntaxError: bad"))
    session.flush()
