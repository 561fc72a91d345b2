"""Migrations: upgrade, no drift from the models, downgrade; seeding; ``loom db``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
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
