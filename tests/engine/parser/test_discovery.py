"""Finding DAG files (``.loomignore``, hidden folders, safe mode) and deciding what to parse."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from engine.parser.dagbag import (
    FileStat,
    KnownFile,
    assign_dag_ids,
    drop_duplicates,
    plan_changes,
)
from engine.parser.discovery import discover_dag_files, file_hash
from engine.parser.processor import FileParseResult, ImportErrorInfo

DAG_TEXT = "from engine import DAG\n"


def write(folder: Path, relative: str, text: str = DAG_TEXT) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def names(folder: Path, **kwargs: bool) -> list[str]:
    return [p.relative_to(folder).as_posix() for p in discover_dag_files(folder, **kwargs)]


def test_finds_python_files_recursively_sorted_skipping_hidden_and_caches(tmp_path: Path) -> None:
    for relative in ("b.py", "a.py", "sub/deep/c.py", ".hidden/d.py", "__pycache__/e.py"):
        write(tmp_path, relative)
    write(tmp_path, "notes.txt")
    write(tmp_path, "sub/.also_hidden/f.py")
    assert names(tmp_path) == ["a.py", "b.py", "sub/deep/c.py"]


def test_loomignore_patterns_are_gitignore_style(tmp_path: Path) -> None:
    for relative in ("keep.py", "scratch_tmp.py", "keep_tmp.py", "build/x.py", "lib/build/y.py"):
        write(tmp_path, relative)
    write(tmp_path, ".loomignore", "# comment\n*_tmp.py\n!keep_tmp.py\nbuild/\n")
    assert names(tmp_path) == ["keep.py", "keep_tmp.py"]


def test_loomignore_in_a_subfolder_applies_below_it_only(tmp_path: Path) -> None:
    for relative in ("old.py", "team/old.py", "team/new.py", "team/inner/old.py"):
        write(tmp_path, relative)
    write(tmp_path, "team/.loomignore", "/old.py\ninner/\n")
    assert names(tmp_path) == ["old.py", "team/new.py"]


def test_safe_mode_skips_files_that_never_mention_a_dag(tmp_path: Path) -> None:
    write(tmp_path, "uses_class.py", "from engine import DAG\n")
    write(tmp_path, "uses_decorator.py", "from engine import dag\n")
    write(tmp_path, "helper.py", "def add(a, b):\n    return a + b\n")
    assert names(tmp_path) == ["uses_class.py", "uses_decorator.py"]
    assert names(tmp_path, safe_mode=False) == ["helper.py", "uses_class.py", "uses_decorator.py"]


def test_missing_folder_has_no_files(tmp_path: Path) -> None:
    assert discover_dag_files(tmp_path / "nope") == []


def test_file_hash_is_the_sha256_of_the_content(tmp_path: Path) -> None:
    path = write(tmp_path, "a.py", "x = 1\n")
    assert file_hash(path) == hashlib.sha256(b"x = 1\n").hexdigest()


# -- change detection ---------------------------------------------------------------------


def known(path: Path, *, dag_ids: list[str] | None = None) -> KnownFile:
    return KnownFile(str(path), FileStat.of(path), file_hash(path), dag_ids or [])


def test_plan_parses_new_and_changed_files_and_lists_deleted_ones(tmp_path: Path) -> None:
    same, touched, edited, _new = (
        write(tmp_path, f"{n}.py") for n in ("same", "touched", "edited", "new")
    )
    remembered = {str(p): known(p) for p in (same, touched, edited)}
    remembered["/gone.py"] = KnownFile("/gone.py", FileStat(1, 1.0), "0" * 64, ["g"])
    os.utime(touched, (1_000_000, 1_000_000))  # new mtime, same content
    edited.write_text(DAG_TEXT + "# more\n")

    plan = plan_changes(sorted(tmp_path.glob("*.py")), remembered)

    assert sorted(p.name for p in plan.to_parse) == ["edited.py", "new.py"]
    assert sorted(Path(p).name for p in plan.unchanged) == ["same.py", "touched.py"]
    assert plan.deleted == ["/gone.py"]
    assert plan.stats[str(touched)].mtime == 1_000_000


def test_plan_with_force_parses_everything(tmp_path: Path) -> None:
    path = write(tmp_path, "same.py")
    plan = plan_changes([path], {str(path): known(path)}, force=True)
    assert plan.to_parse == [path]
    assert plan.unchanged == []


# -- which file gets a dag_id -------------------------------------------------------------


def result(path: str, *dag_ids: str) -> FileParseResult:
    dags = [{"dag_id": dag_id} for dag_id in dag_ids]
    return FileParseResult(Path(path), "hash", dags, [], 0.1)


@pytest.mark.parametrize(
    ("owners", "winner"),
    [({}, "/dags/a.py"), ({"x": "/dags/b.py"}, "/dags/b.py"), ({"x": "/gone.py"}, "/dags/a.py")],
)
def test_owner_in_database_keeps_a_dag_id_else_first_path(
    owners: dict[str, str], winner: str
) -> None:
    claims = {"/dags/b.py": ["x"], "/dags/a.py": ["x", "y"]}
    assert assign_dag_ids(claims, owners) == {"x": winner, "y": "/dags/a.py"}


def test_losing_file_keeps_its_other_dags_and_gets_an_error_naming_both_files() -> None:
    loser = result("/dags/b.py", "x", "z")
    winners = {"x": "/dags/a.py", "z": "/dags/b.py"}
    checked = drop_duplicates(loser, winners)
    assert checked.dag_ids == ["z"]
    assert checked.errors == [
        ImportErrorInfo(
            "/dags/b.py: DAG 'x' is already defined in /dags/a.py;"
            " a dag_id must be unique across files"
        )
    ]
    assert drop_duplicates(result("/dags/a.py", "x"), winners).errors == []
