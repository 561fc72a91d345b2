"""Parsing DAG files in child processes: validation problems, containment, cross-file checks."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from engine.errors import NotFoundError
from engine.parser import ParseOptions, discover_dag_files, parse_file, parse_files, parse_folder
from engine.parser.inprocess import find_dag_file
from engine.parser.processor import FileParseResult
from tests.engine.parser.conftest import FIXTURES, marked_line

VALIDATION = FIXTURES / "validation"
CONTAINMENT = FIXTURES / "containment"
PARSER_DIR = str(Path(__file__).resolve().parents[3] / "engine" / "parser")


def parse_all(folder: Path, *, timeout: float) -> dict[str, FileParseResult]:
    paths = sorted(folder.glob("*.py"))
    results = parse_files(paths, ParseOptions(folder, timeout=timeout, parallelism=4))
    return {result.path.stem: result for result in results}


@pytest.fixture(scope="module")
def validation() -> dict[str, FileParseResult]:
    return parse_all(VALIDATION, timeout=30)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("cycle", "dependency cycle: a -> b -> c -> a (closed by c >> a)"),
        ("unknown_task", "dependency refers to unknown task 'nope'"),
        ("duplicate_task_id", "duplicate task id 'a' (first defined at {file}:6)"),
        ("bad_cron", "invalid schedule '61 * * * *'"),
        ("negative_retries", "task 'a': retries must be a non-negative integer, got -1"),
        ("unknown_trigger_rule", "task 'b': unknown trigger_rule 'sometimes'"),
        ("bad_priority", "task 'a': priority must be one of high, default, low, got 'urgent'"),
    ],
)
def test_each_validation_problem_is_an_import_error_with_file_and_line(
    validation: dict[str, FileParseResult], name: str, problem: str
) -> None:
    result = validation[name]
    path = VALIDATION / f"{name}.py"
    assert result.dags == []
    assert result.imported
    assert result.invalid_dag_ids == [name]
    [error] = result.errors
    expected = f"{path}:{marked_line(path)}: DAG '{name}': {problem.format(file=path)}"
    assert error.message.startswith(expected), error.message


def test_every_problem_of_a_dag_is_listed(tmp_path: Path) -> None:
    path = tmp_path / "many.py"
    path.write_text(
        "from engine import DAG, EmptyOperator\n"
        "with DAG('many') as dag:\n"
        "    a = EmptyOperator(task_id='a', retries=-2)\n"
        "    a >> EmptyOperator(task_id='b', priority='top')\n"
        "    a.set_upstream('missing')\n"
    )
    [error] = parse_file(path, ParseOptions(tmp_path, timeout=30)).errors
    lines = error.message.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{path}:5: DAG 'many': dependency refers to unknown task")
    assert lines[1].startswith(f"{path}:3: DAG 'many': task 'a': retries must be")
    assert lines[2].startswith(f"{path}:4: DAG 'many': task 'b': priority must be")


def test_a_valid_dag_next_to_an_invalid_one_in_the_same_file_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "two.py"
    path.write_text(
        "from engine import DAG, EmptyOperator\n"
        "with DAG('fine') as fine:\n"
        "    EmptyOperator(task_id='a')\n"
        "with DAG('broken') as broken:\n"
        "    EmptyOperator(task_id='a', retries=-1)\n"
        "with DAG('fine') as again:\n"
        "    EmptyOperator(task_id='b')\n"
    )
    result = parse_file(path, ParseOptions(tmp_path, timeout=30))
    assert result.dag_ids == ["fine"]
    assert result.dags[0]["fileloc"] == str(path)
    assert result.invalid_dag_ids == ["broken", "fine"]
    [error] = result.errors
    assert f"{path}:6: DAG 'fine': dag_id is used twice in this file (first at {path}:2)" in (
        error.message
    )


def test_same_dag_id_in_two_files_is_an_error_on_the_later_file_naming_both() -> None:
    folder = FIXTURES / "duplicate"
    first, second = parse_folder(ParseOptions(folder, timeout=30, parallelism=2))
    assert (first.dag_ids, first.errors) == (["shared"], [])
    assert second.dag_ids == ["only_second"]
    [error] = second.errors
    assert error.message == (
        f"{folder / 'second.py'}: DAG 'shared' is already defined in {folder / 'first.py'};"
        " a dag_id must be unique across files"
    )


def test_dags_folder_is_importable_and_equal_file_names_do_not_clash(tmp_path: Path) -> None:
    (tmp_path / "common.py").write_text(
        "from engine import DAG, EmptyOperator\n"
        "def make(dag_id):\n"
        "    with DAG(dag_id) as dag:\n"
        "        EmptyOperator(task_id='only')\n"
        "    return dag\n"
    )
    for team in ("red", "blue"):
        (tmp_path / team).mkdir()
        source = f"from common import make\n\nmake('{team}_etl')  # the team's DAG\n"
        (tmp_path / team / "etl.py").write_text(source)
    results = parse_folder(ParseOptions(tmp_path, timeout=30, parallelism=2))
    assert {r.path.relative_to(tmp_path).as_posix(): r.dag_ids for r in results} == {
        "blue/etl.py": ["blue_etl"],
        "common.py": [],
        "red/etl.py": ["red_etl"],
    }
    assert [r.errors for r in results] == [[], [], []]


def test_a_file_reads_the_environment_of_the_process_that_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Children fork from a server started once; they still see the asker's environment
    as it is now (a variable set after the server started, one unset since)."""
    parse_files([], ParseOptions(tmp_path, timeout=30, parallelism=1))  # the server is up
    monkeypatch.setenv("LOOM_TEST_DAG_ID", f"from_env_{tmp_path.name}")
    monkeypatch.delenv("HOME", raising=False)
    path = tmp_path / "env.py"
    path.write_text(
        "import os\nfrom engine import DAG, EmptyOperator\n"
        "assert 'HOME' not in os.environ\n"
        "with DAG(os.environ['LOOM_TEST_DAG_ID']):\n    EmptyOperator(task_id='t')\n"
    )
    result = parse_file(path, ParseOptions(tmp_path, timeout=30))
    assert (result.dag_ids, result.errors) == ([f"from_env_{tmp_path.name}"], [])


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "syntax.py"
    path.write_text("from engine import DAG\n\nwith DAG('syntax' as dag:\n    pass\n")
    result = parse_file(path, ParseOptions(tmp_path, timeout=30))
    assert not result.imported
    assert result.errors[0].message.startswith(f"{path}:3: SyntaxError: ")


def test_unreadable_file_is_an_import_error(tmp_path: Path) -> None:
    result = parse_file(tmp_path / "gone.py", ParseOptions(tmp_path, timeout=30))
    assert result.errors[0].message.startswith(f"{tmp_path / 'gone.py'}: cannot read the file")


# -- containment: misbehaving files never keep the others from loading ----------------------

TIMEOUT = 2.0


@pytest.fixture(scope="module")
def containment() -> dict[str, FileParseResult]:
    return parse_all(CONTAINMENT, timeout=TIMEOUT)


def only_error(result: FileParseResult) -> str:
    assert result.dags == []
    assert not result.imported
    [error] = result.errors
    return error.message


@pytest.mark.slow
def test_good_files_load_next_to_misbehaving_ones(containment: dict[str, FileParseResult]) -> None:
    loaded = {name: r.dag_ids for name, r in containment.items() if r.dags}
    assert loaded == {"good": ["good"], "good_taskflow": ["good_taskflow"], "loud": ["loud"]}
    assert containment["good"].errors == []
    assert containment["good_taskflow"].dags[0]["edges"] == [["one", "two"]]


@pytest.mark.slow
def test_hanging_file_is_killed_at_the_timeout_showing_where_it_hung(
    containment: dict[str, FileParseResult],
) -> None:
    result = containment["hang"]
    path = CONTAINMENT / "hang.py"
    assert only_error(result) == (
        f"{path}: timed out after 2 s while being imported (core.parse_timeout);"
        " the process was killed"
    )
    assert TIMEOUT <= result.duration < TIMEOUT + 5  # killed, not left to hang
    assert f'File "{path}", line {marked_line(path)}' in (result.errors[0].traceback or "")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "signal"), [("abort", "SIGABRT"), ("segfault", "SIGSEGV")])
def test_crashing_interpreter_is_an_import_error_naming_the_signal(
    containment: dict[str, FileParseResult], name: str, signal: str
) -> None:
    path = CONTAINMENT / f"{name}.py"
    assert only_error(containment[name]).startswith(
        f"{path}: the parser process died of signal {signal} ("
    )
    assert f'File "{path}", line 5' in (containment[name].errors[0].traceback or "")


@pytest.mark.slow
def test_sys_exit_and_os_exit_are_import_errors(containment: dict[str, FileParseResult]) -> None:
    assert only_error(containment["sys_exit"]) == (
        f"{CONTAINMENT / 'sys_exit.py'}: called sys.exit(3) while being imported"
    )
    assert only_error(containment["os_exit"]) == (
        f"{CONTAINMENT / 'os_exit.py'}: the parser process exited with code 7 while importing it"
    )


@pytest.mark.slow
def test_exception_names_the_user_line_and_keeps_only_user_frames(
    containment: dict[str, FileParseResult],
) -> None:
    path = CONTAINMENT / "raises.py"
    message = only_error(containment["raises"])
    assert message == (
        f"{path}:{marked_line(path)}: NameError: name 'undefined_dag_id' is not defined"
    )
    trace = containment["raises"].errors[0].traceback or ""
    assert trace.startswith("Traceback (most recent call last):")
    assert f'File "{path}", line 10, in <module>' in trace
    assert PARSER_DIR not in trace
    assert "<frozen importlib" not in trace


@pytest.mark.slow
def test_safe_mode_never_imports_a_helper_without_dags(
    containment: dict[str, FileParseResult],
) -> None:
    assert "helper.py" not in [path.name for path in discover_dag_files(CONTAINMENT)]
    # Parsed on purpose above: importing it would have been an error.
    assert "RuntimeError: imported although" in only_error(containment["helper"])


@pytest.mark.slow
def test_megabytes_of_output_are_contained_and_the_parent_stays_small() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = parse_file(CONTAINMENT / "loud.py", ParseOptions(CONTAINMENT, timeout=30))
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert (result.dag_ids, result.errors) == (["loud"], [])
    assert grown_kib < 20 * 1024


def test_a_dag_not_found_names_the_files_that_failed_to_import(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("from engine import DAG\nraise KeyError('SETTING')\n")
    with pytest.raises(NotFoundError) as caught:
        find_dag_file("wanted", ParseOptions(tmp_path, timeout=30, parallelism=1))
    message = str(caught.value)
    assert message.startswith(f"no DAG 'wanted' in {tmp_path}; known DAGs: none; files that")
    assert f"{tmp_path / 'broken.py'}:2: KeyError: 'SETTING'" in message


def test_the_forkserver_preloads_the_module_of_every_childs_target() -> None:
    """A forkserver child unpickles its target by reference: a module the server has not
    imported is imported again by every child (parsing 1,000 files took 1.6 times as long)."""
    from engine.parser import processor
    from engine.runtime import forkserver

    assert processor._parse_in_child.__module__ in forkserver._preloaded()
