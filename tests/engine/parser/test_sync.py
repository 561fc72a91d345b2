"""Writing parse results into the database: round trip, change detection, ownership."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.authoring.serialization import SerializedDAG, dag_hash
from engine.errors import NotFoundError
from engine.models import Dag, DagFile, DagWarning, ParseImportError, SerializedDag
from engine.parser import ParseOptions, RefreshReport, refresh_dags
from engine.parser.discovery import file_hash
from engine.services.dags import set_dag_paused
from tests.engine.parser.conftest import CountingParser, dag_source

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BROKEN = "from engine import DAG\n\nx = undefined_name  # noqa\n"

Sessions = sessionmaker[Session]


def refresh(
    sessions: Sessions, folder: Path, parser: CountingParser | None = None
) -> RefreshReport:
    with sessions.begin() as session:
        return refresh_dags(
            session=session,
            options=ParseOptions(folder, timeout=30, parallelism=2),
            now=NOW,
            parser=parser or CountingParser(),
        )


def dag_row(sessions: Sessions, dag_id: str) -> Dag:
    with sessions() as session:
        row = session.get(Dag, dag_id)
        assert row is not None, dag_id
        return row


def errors_of(sessions: Sessions, path: Path) -> list[str]:
    with sessions() as session:
        query = sa.select(ParseImportError.message).where(ParseImportError.filename == str(path))
        return list(session.scalars(query))


def dag_file(sessions: Sessions, path: Path) -> DagFile | None:
    with sessions() as session:
        return session.get(DagFile, str(path))


def check_round_trip(sessions: Sessions, folder: Path) -> None:
    etl = folder / "etl.py"
    etl.write_text(dag_source("etl", tasks=("extract", "transform", "load"), paused=True))
    broken = folder / "broken.py"
    broken.write_text(BROKEN)

    report = refresh(sessions, folder)

    assert (report.files, report.parsed) == (2, [str(broken), str(etl)])
    assert (report.dags_added, report.dags_updated, report.dags_deactivated) == (["etl"], [], [])
    assert list(report.import_errors) == [str(broken)]
    dag = dag_row(sessions, "etl")
    assert (dag.fileloc, dag.schedule, dag.owner, dag.tags) == (
        str(etl),
        "@daily",
        "data",
        ["team"],
    )
    assert (dag.is_paused, dag.is_active, dag.last_parsed_at) == (True, True, NOW)
    with sessions() as session:
        serialized = session.get(SerializedDag, "etl")
        assert serialized is not None
        assert SerializedDAG.from_dict(serialized.data).to_dict() == serialized.data
        assert serialized.data["edges"] == [["extract", "transform"], ["transform", "load"]]
        assert serialized.dag_hash == dag_hash(serialized.data)
        assert serialized.file_hash == file_hash(etl)
    row = dag_file(sessions, etl)
    assert row is not None
    assert (row.file_hash, row.size, row.dag_ids) == (file_hash(etl), etl.stat().st_size, ["etl"])
    assert (row.mtime, row.has_import_error) == (etl.stat().st_mtime, False)
    [message] = errors_of(sessions, broken)
    assert message == f"{broken}:3: NameError: name 'undefined_name' is not defined"


def test_first_refresh_stores_dags_files_and_import_errors(
    each_db_sessions: Sessions, dags_folder: Path
) -> None:
    check_round_trip(each_db_sessions, dags_folder)


def check_change_detection(sessions: Sessions, folder: Path) -> None:
    etl, other = folder / "etl.py", folder / "other.py"
    etl.write_text(dag_source("etl"))
    other.write_text(dag_source("other"))
    refresh(sessions, folder)

    parser = CountingParser()
    report = refresh(sessions, folder, parser)
    assert (parser.parsed, report.parsed, report.unchanged) == ([], [], 2)

    os.utime(etl, (1_700_000_000, 1_700_000_000))  # touched, same content
    report = refresh(sessions, folder, parser)
    assert parser.parsed == []
    assert dag_file(sessions, etl).mtime == 1_700_000_000  # type: ignore[union-attr]

    etl.write_text(dag_source("etl", tasks=("extract", "clean", "load")))
    report = refresh(sessions, folder, parser)
    assert parser.parsed == ["etl.py"]
    assert (report.dags_added, report.dags_updated) == ([], ["etl"])
    with sessions() as session:
        serialized = session.get(SerializedDag, "etl")
        assert serialized is not None
        assert [t["task_id"] for t in serialized.data["tasks"]] == ["extract", "clean", "load"]


def test_only_changed_files_are_parsed_again(each_db_sessions: Sessions, dags_folder: Path) -> None:
    check_change_detection(each_db_sessions, dags_folder)


def test_force_parses_unchanged_files(sessions: Sessions, dags_folder: Path) -> None:
    (dags_folder / "etl.py").write_text(dag_source("etl"))
    refresh(sessions, dags_folder)
    parser = CountingParser()
    with sessions.begin() as session:
        refresh_dags(
            session=session, options=ParseOptions(dags_folder, timeout=30, parallelism=1),
            now=NOW, force=True, parser=parser,
        )  # fmt: skip
    assert parser.parsed == ["etl.py"]


def test_deleted_file_deactivates_its_dags_and_forgets_the_file(
    sessions: Sessions, dags_folder: Path
) -> None:
    etl, broken = dags_folder / "etl.py", dags_folder / "broken.py"
    etl.write_text(dag_source("etl", "etl_backfill"))
    broken.write_text(BROKEN)
    refresh(sessions, dags_folder)
    etl.unlink()
    broken.unlink()

    report = refresh(sessions, dags_folder)

    assert report.deleted == [str(broken), str(etl)]
    assert report.dags_deactivated == ["etl", "etl_backfill"]
    assert dag_row(sessions, "etl").is_active is False
    assert dag_file(sessions, etl) is None
    assert errors_of(sessions, broken) == []


def test_dag_removed_from_a_file_is_deactivated(sessions: Sessions, dags_folder: Path) -> None:
    etl = dags_folder / "etl.py"
    etl.write_text(dag_source("etl", "etl_backfill"))
    refresh(sessions, dags_folder)
    etl.write_text(dag_source("etl"))

    report = refresh(sessions, dags_folder)

    assert report.dags_deactivated == ["etl_backfill"]
    assert dag_row(sessions, "etl_backfill").is_active is False
    assert dag_row(sessions, "etl").is_active is True
    assert dag_file(sessions, etl).dag_ids == ["etl"]  # type: ignore[union-attr]


def test_fixed_file_clears_its_import_error(sessions: Sessions, dags_folder: Path) -> None:
    path = dags_folder / "etl.py"
    path.write_text(BROKEN)
    refresh(sessions, dags_folder)
    assert len(errors_of(sessions, path)) == 1
    assert dag_file(sessions, path).has_import_error  # type: ignore[union-attr]

    path.write_text(dag_source("etl"))
    report = refresh(sessions, dags_folder)

    assert (report.import_errors, report.dags_added) == ({}, ["etl"])
    assert errors_of(sessions, path) == []
    assert not dag_file(sessions, path).has_import_error  # type: ignore[union-attr]


def test_a_quiet_refresh_logs_at_debug_and_counts_the_import_errors_the_folder_has(
    sessions: Sessions, dags_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (dags_folder / "etl.py").write_text(dag_source("etl"))
    broken = dags_folder / "broken.py"
    broken.write_text(BROKEN)
    with caplog.at_level(logging.DEBUG, logger="engine.parser.sync"):
        first = refresh(sessions, dags_folder)
        quiet = refresh(sessions, dags_folder)
    refreshed = [r for r in caplog.records if r.getMessage().startswith("refreshed")]
    assert [(r.levelno, r.getMessage().split(": ", 1)[1]) for r in refreshed] == [
        (logging.INFO, "2 files, 2 parsed, 0 deleted, 1 import errors"),
        # nothing parsed: the broken file's error still counts, at DEBUG
        (logging.DEBUG, "2 files, 0 parsed, 0 deleted, 1 import errors"),
    ]
    assert (first.import_errors_now, quiet.import_errors_now) == (1, 1)
    [error] = [r for r in caplog.records if r.getMessage().startswith("import error in")]
    assert error.levelno == logging.WARNING

    broken.unlink()
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="engine.parser.sync"):
        gone = refresh(sessions, dags_folder)
    assert gone.import_errors_now == 0
    [line] = [r for r in caplog.records if r.getMessage().startswith("refreshed")]
    assert line.levelno == logging.INFO  # the import errors changed
    assert line.getMessage().endswith("1 files, 0 parsed, 1 deleted, 0 import errors")


@pytest.mark.parametrize(
    "breakage",
    [BROKEN, dag_source("etl", tasks=("a", "b")) + "    a_task = dag.get_task('a')\n"
     "    a_task.set_upstream('b')\n"],
    ids=["import-fails", "dag-invalid"],
)  # fmt: skip
def test_broken_file_keeps_the_last_good_version_active(
    sessions: Sessions, dags_folder: Path, breakage: str
) -> None:
    path = dags_folder / "etl.py"
    path.write_text(dag_source("etl", tasks=("a", "b")))
    refresh(sessions, dags_folder)
    path.write_text(breakage)

    report = refresh(sessions, dags_folder)

    assert report.dags_deactivated == []
    assert dag_row(sessions, "etl").is_active
    assert dag_file(sessions, path).dag_ids == ["etl"]  # type: ignore[union-attr]
    assert len(errors_of(sessions, path)) == 1


def test_pause_is_set_on_first_sight_only(sessions: Sessions, dags_folder: Path) -> None:
    path = dags_folder / "etl.py"
    path.write_text(dag_source("etl", paused=True))
    refresh(sessions, dags_folder)
    assert dag_row(sessions, "etl").is_paused
    with sessions.begin() as session:
        set_dag_paused(session=session, dag_id="etl", is_paused=False)

    path.write_text(dag_source("etl", tasks=("only",), paused=True))
    refresh(sessions, dags_folder)
    path.unlink()
    refresh(sessions, dags_folder)
    path.write_text(dag_source("etl", paused=True))
    refresh(sessions, dags_folder)

    assert (dag_row(sessions, "etl").is_paused, dag_row(sessions, "etl").is_active) == (False, True)


def test_pausing_an_unknown_dag_is_not_found(sessions: Sessions) -> None:
    with sessions.begin() as session, pytest.raises(NotFoundError, match="no DAG 'nope'"):
        set_dag_paused(session=session, dag_id="nope", is_paused=True)


def test_dag_id_stays_with_its_owner_then_passes_to_the_other_file(
    sessions: Sessions, dags_folder: Path
) -> None:
    owner, newcomer = dags_folder / "b_owner.py", dags_folder / "a_newcomer.py"
    owner.write_text(dag_source("shared"))
    refresh(sessions, dags_folder)
    newcomer.write_text(dag_source("shared", "own"))

    report = refresh(sessions, dags_folder)

    assert report.import_errors == {
        str(newcomer): [
            f"{newcomer}: DAG 'shared' is already defined in {owner};"
            " a dag_id must be unique across files"
        ]
    }
    assert dag_row(sessions, "shared").fileloc == str(owner)
    assert dag_row(sessions, "own").is_active

    owner.write_text(dag_source("renamed"))
    parser = CountingParser()
    report = refresh(sessions, dags_folder, parser)

    # The newcomer did not change, but it must be parsed to provide the DAG it now gets.
    assert sorted(parser.parsed) == ["a_newcomer.py", "b_owner.py"]
    assert dag_row(sessions, "shared").fileloc == str(newcomer)
    assert dag_row(sessions, "shared").is_active
    assert report.dags_deactivated == []
    assert errors_of(sessions, newcomer) == []


def test_dag_moving_between_files_in_one_refresh_stays_active(
    sessions: Sessions, dags_folder: Path
) -> None:
    first, second = dags_folder / "first.py", dags_folder / "second.py"
    first.write_text(dag_source("stays", "moving"))
    refresh(sessions, dags_folder)
    first.write_text(dag_source("stays"))
    second.write_text(dag_source("moving"))

    report = refresh(sessions, dags_folder)

    assert (report.dags_updated, report.dags_deactivated) == (["moving"], [])
    assert dag_row(sessions, "moving").fileloc == str(second)
    assert dag_row(sessions, "moving").is_active


def test_ignored_file_counts_as_deleted(sessions: Sessions, dags_folder: Path) -> None:
    (dags_folder / "etl.py").write_text(dag_source("etl"))
    refresh(sessions, dags_folder)
    (dags_folder / ".loomignore").write_text("etl.py\n")
    assert refresh(sessions, dags_folder).dags_deactivated == ["etl"]


def test_missing_folder_changes_nothing(sessions: Sessions, dags_folder: Path) -> None:
    (dags_folder / "etl.py").write_text(dag_source("etl"))
    refresh(sessions, dags_folder)
    with pytest.raises(NotFoundError, match="does not exist; nothing was changed"):
        refresh(sessions, dags_folder / "unmounted")
    assert dag_row(sessions, "etl").is_active


UNQUOTED = """
from datetime import datetime
from engine import DAG, BashOperator

with DAG("shell", schedule=None, start_date=datetime(2026, 1, 1), params={"region": "eu"}):
    BashOperator(task_id="report", bash_command="echo {{ params.region }}")
"""


def warnings_of(sessions: Sessions) -> dict[str, str]:
    with sessions() as session:
        return {w.dag_id: w.message for w in session.scalars(sa.select(DagWarning))}


@pytest.mark.postgres
def test_an_unquoted_conf_in_a_shell_command_is_a_warning_until_fixed(
    pg_sessions: Sessions, dags_folder: Path
) -> None:
    path = dags_folder / "shell.py"
    path.write_text(UNQUOTED)
    report = refresh(pg_sessions, dags_folder)
    assert report.dags_added == ["shell"]
    assert report.import_errors == {}  # a warning, not an error: the DAG loads
    [message] = warnings_of(pg_sessions).values()
    assert message.startswith("task 'report': bash_command interpolates {{ params.region }}")

    path.write_text(UNQUOTED.replace("params.region }}", "params.region | sh }}"))
    refresh(pg_sessions, dags_folder)
    assert warnings_of(pg_sessions) == {}
