"""Migrations: upgrade, no drift from the models, downgrade; seeding; ``loom db``."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner

from engine.cli import db_cmd
from engine.cli.main import cli
from engine.models import Permission, Pool, Role, migrate
from engine.models.session import create_db_engine, make_session_factory
from engine.security.roles import ADMIN, BUILTIN_ROLES, Action, Resource

cli.add_command(db_cmd.group)


def table_names(url: str) -> set[str]:
    db = create_db_engine(url)
    try:
        return set(sa.inspect(db).get_table_names())
    finally:
        db.dispose()


def upgrade_check_downgrade(url: str) -> None:
    assert migrate.current(url) is None
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()
    assert migrate.check(url) == []
    assert "task_instance" in table_names(url)

    migrate.downgrade(url, "base")
    assert migrate.current(url) is None
    assert table_names(url) == {"alembic_version"}


def test_upgrade_check_downgrade(empty_db_url: str) -> None:
    upgrade_check_downgrade(empty_db_url)


def test_check_reports_a_database_behind_head(sqlite_url: str) -> None:
    assert migrate.check(sqlite_url) == [
        f"database is at revision base, not at head {migrate.head()}"
    ]


def test_check_reports_drift_from_the_models(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    db = create_db_engine(sqlite_url)
    with db.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE pool ADD COLUMN extra INTEGER")
    db.dispose()
    assert migrate.check(sqlite_url) == ["remove_column pool.extra"]


def seeded_roles(url: str) -> dict[str, set[tuple[str, str]]]:
    db = create_db_engine(url)
    try:
        with make_session_factory(db)() as session:
            roles = session.scalars(sa.select(Role)).all()
            assert session.scalar(sa.select(sa.func.count()).select_from(Permission)) == len(ADMIN)
            assert all(role.is_builtin for role in roles)
            return {r.name: {(p.action, p.resource) for p in r.permissions} for r in roles}
    finally:
        db.dispose()


def default_pool_slots(url: str) -> int:
    db = create_db_engine(url)
    try:
        with make_session_factory(db)() as session:
            return session.get_one(Pool, "default_pool").slots
    finally:
        db.dispose()


def assert_builtin_roles_seeded(url: str) -> None:
    migrate.upgrade_and_seed(url)
    first = seeded_roles(url)
    assert default_pool_slots(url) == 128
    migrate.upgrade_and_seed(url)
    assert seeded_roles(url) == first

    assert set(first) == set(BUILTIN_ROLES) == {"Admin", "Op", "User", "Viewer"}
    assert first["Viewer"] < first["User"] < first["Op"] < first["Admin"]
    assert len(first["Admin"]) == len(Action) * len(Resource)
    assert ("read", "dags") in first["Viewer"]
    assert ("read", "users") not in first["Viewer"]
    assert ("edit", "dags") in first["User"]
    assert ("delete", "dag_runs") in first["User"]
    assert ("create", "pools") not in first["User"]
    assert ("delete", "dead_letters") in first["Op"]
    assert ("read", "audit_log") not in first["Op"]


def test_builtin_roles_are_seeded_idempotently(empty_db_url: str) -> None:
    assert_builtin_roles_seeded(empty_db_url)


def test_seed_restores_a_builtin_role_and_keeps_a_resized_pool(sqlite_url: str) -> None:
    migrate.upgrade_and_seed(sqlite_url)
    db = create_db_engine(sqlite_url)
    with make_session_factory(db).begin() as session:
        session.scalars(sa.select(Role).where(Role.name == "Viewer")).one().permissions = []
        session.get_one(Pool, "default_pool").slots = 4
    with make_session_factory(db).begin() as session:
        migrate.seed(session=session)
    db.dispose()
    assert ("read", "dags") in seeded_roles(sqlite_url)["Viewer"]
    assert default_pool_slots(sqlite_url) == 4


def test_db_cli_upgrade_check_current_downgrade(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOM__DATABASE__URL", sqlite_url)
    runner = CliRunner()

    result = runner.invoke(cli, ["db", "check"])
    assert result.exit_code == 1
    assert "not at head" in result.output

    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"is at revision {migrate.head()}" in result.output

    result = runner.invoke(cli, ["db", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"database is up to date (revision {migrate.head()})"
    assert runner.invoke(cli, ["db", "current"]).output.strip() == migrate.head()

    result = runner.invoke(cli, ["db", "downgrade", "base"], input="n\n")
    assert result.exit_code == 1
    assert migrate.current(sqlite_url) == migrate.head()

    result = runner.invoke(cli, ["db", "downgrade", "base", "--yes"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, ["db", "current"]).output.strip() == "base"


@pytest.mark.postgres
def test_check_reports_type_drift_on_postgres(postgres_url: str) -> None:
    migrate.upgrade(postgres_url)
    db = create_db_engine(postgres_url)
    with db.begin() as conn:
        # Not ``state``: the run-change triggers read it, and PostgreSQL refuses to retype it.
        conn.exec_driver_sql(
            "ALTER TABLE task_instance ALTER COLUMN priority_class TYPE VARCHAR(64)"
        )
        conn.exec_driver_sql("ALTER TABLE dag ALTER COLUMN created_at TYPE timestamp")
    db.dispose()
    assert sorted(migrate.check(postgres_url)) == [
        "modify_type dag.created_at: TIMESTAMP() -> UtcDateTime(timezone=True)",
        "modify_type task_instance.priority_class: VARCHAR(length=64)"
        " -> StrEnumType(PriorityClass)",
    ]


@pytest.mark.postgres
def test_json_columns_are_jsonb_on_postgres(postgres_url: str) -> None:
    migrate.upgrade(postgres_url)
    db = create_db_engine(postgres_url)
    with db.begin() as conn:
        types = dict(
            conn.exec_driver_sql(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_name = 'dag_run' AND column_name IN ('conf', 'run_id')"
            ).all()
        )
        conn.exec_driver_sql("ALTER TABLE dag_run ALTER COLUMN conf TYPE json")
    db.dispose()
    assert types == {"conf": "jsonb", "run_id": "character varying"}
    assert migrate.check(postgres_url) == [
        "modify_type dag_run.conf: JSON(astext_type=Text()) -> JSONType()"
    ]


def test_dag_versions_upgrade_makes_each_stored_graph_version_one(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url, "0006")
    db = create_db_engine(empty_db_url)
    try:
        with db.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO dag (dag_id, fileloc, tags, is_paused, is_active,"
                    " max_active_runs, max_active_tasks, created_at, updated_at) VALUES"
                    " ('etl', '/dags/etl.py', '[]', false, true, 1, 1, :t, :t)"
                ),
                {"t": "2026-01-01 00:00:00+00:00"},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO serialized_dag (dag_id, data, dag_hash, fileloc, file_hash,"
                    " updated_at) VALUES ('etl', :data, :h, '/dags/etl.py', :f, :t)"
                ),
                {"data": '{"dag_id": "etl"}', "h": "a" * 64, "f": "b" * 64,
                 "t": "2026-01-01 00:00:00+00:00"},
            )  # fmt: skip
        migrate.upgrade(empty_db_url)
        with db.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT dag_id, version_number, dag_hash, source_code FROM dag_version")
            ).all()
        assert [tuple(row) for row in rows] == [("etl", 1, "a" * 64, None)]
        migrate.downgrade(empty_db_url, "0006")
        assert "dag_version" not in table_names(empty_db_url)
    finally:
        db.dispose()


RUN_CHANGE_TRIGGERS = {
    "dag_run_inserted",
    "dag_run_started",
    "task_instance_inserted",
    "task_instance_state_changed",
}


def trigger_names(url: str) -> set[str]:
    db = sa.create_engine(url)
    try:
        with db.connect() as conn:
            if db.dialect.name == "sqlite":
                found = conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type='trigger'"))
            else:
                found = conn.execute(
                    sa.text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
                )
            return {row[0] for row in found}
    finally:
        db.dispose()


def test_the_run_change_triggers_survive_every_later_migration(empty_db_url: str) -> None:
    """SQLite re-creates a table a migration alters, without its triggers (0015 alters
    dag_run): head and a downgrade to 0013 both have all four."""
    migrate.upgrade(empty_db_url)
    assert trigger_names(empty_db_url) >= RUN_CHANGE_TRIGGERS
    migrate.downgrade(empty_db_url, "0013")  # below 0014 and 0015
    assert trigger_names(empty_db_url) >= RUN_CHANGE_TRIGGERS


def offline_postgres_sql(step: Callable[..., None], revisions: str) -> str:
    """The SQL Alembic emits for PostgreSQL without a database (``--sql``)."""
    config = migrate.alembic_config("postgresql+psycopg://")
    config.output_buffer = io.StringIO()
    step(config, revisions, sql=True)
    return config.output_buffer.getvalue()


def sql_per_revision(sql: str) -> dict[str, str]:
    """Offline SQL cut at Alembic's ``-- Running upgrade A -> B`` lines, keyed by the
    revision that runs (B upgrading, A downgrading)."""
    parts = re.split(r"^-- Running (upgrade|downgrade) (\w*) -> (\w*)$", sql, flags=re.M)
    return {
        (new if direction == "upgrade" else old): text
        for direction, old, new, text in zip(*[iter(parts[1:])] * 4, strict=True)
    }


FROZEN_SQL_SHA256 = {
    "0001": "02d4fd7c37762ab6950157c8d113400ed718821973d6949372255d6daff85b06",
    "0002": "d21c20af27c7d0b028fd0ce94105aabc7da37dedf1fc2e112cecb8d1f50ae186",
    "0003": "08606b323fcbb8f120a5c6dc1a4e9004e403e9fe0ea196bb77a8f7ee0e58d93b",
    "0004": "162c3186792d37a1ae5e848c6bbab196d95267558c8f05017ed04467601d2cf6",
    "0005": "908e224bcae33f593e008302360db76c49449a5e5639094dda38e2fef5b0c833",
    "0006": "cd1e36c33cc28788528b867cf9a662947d96e6bf4e56676933eabfdea7739c13",
    "0007": "24ecf8496426afc4d97e2bb8c5ce01a4f67dcb9dd3cefbce9d822771ac8870b5",
    "0008": "8e9b8889f88f86bcaccdf023f3ee60e2344b70331406b6bb228028edf012d12c",
    "0009": "f020b9dbc03f2a90c5a024a1a687368dae41386a1eeb9846d057eab69837e474",
    "0010": "14d3bdf4d11641ce3087ce31f733e5de27eabf8eac907cf0675e987559887b01",
    "0011": "9f86873e50fc8268a94f06430a8e72f1206278b73fe30d12357ed0e1fc8238b6",
    "0012": "427981900727363532c5871eb8213a405731a4d01fae4b278fd6d5c67278f3ff",
    "0013": "b42ad35dd6beb6e2f0181274b2a744302f460b4d17f02c55ab3d96978ac28589",
    "0014": "b34119f0fe68206e361fc3b2ba6445ca89111f09c46d2e9a0312610c90b9c008",
    "0015": "36b80b63dece59bc5fa3743ac20b074a6688a6d7aacc3d63e6d33007eef3557b",
    "0016": "482fd67fe2323860e27bfa62511e6e6751c667f1eb714540e4cd18f7b61fc5b4",
    "0017": "aeea8ca51b03f785f4971d6d5098b421323c0b69f667f05e600d15f9754090af",
    "0018": "034db59801b0fa800614466806be3cb081234eb2051e135fe4bf691dfe078a36",
}
"""Per revision, the sha256 of the PostgreSQL SQL it emits upgrading, then downgrading.

A revision, once released, must create the same schema forever, and so must
``migrations.ddl``, which revisions share. A new revision adds its line here; a changed
digest of an old one means an edit changed history (or a new SQLAlchemy renders the
same DDL differently: then compare the SQL and record the new digest)."""


def test_every_revision_emits_the_sql_it_was_frozen_with() -> None:
    up = sql_per_revision(offline_postgres_sql(command.upgrade, "base:head"))
    down = sql_per_revision(offline_postgres_sql(command.downgrade, "head:base"))
    assert up.keys() == down.keys()
    emitted = {
        revision: hashlib.sha256((up[revision] + down[revision]).encode()).hexdigest()
        for revision in up
    }
    assert emitted == FROZEN_SQL_SHA256, (
        "a revision's SQL changed, or a new one has no digest yet: see FROZEN_SQL_SHA256"
    )
