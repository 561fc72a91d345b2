"""Parsing beside the ticks: a DAG file that hangs at import delays only itself.

The parse loop is driven pass by pass (``run_once``), waiting between passes for a child
to finish (``wait``); a tick runs while the hanging file's child is still importing it.
Each wait loop is bounded only so that a broken build fails instead of hanging.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.models import Dag, ParseImportError
from engine.parser.loop import ParseLoop
from engine.parser.sync import PARSE_LOCK_KEY, RefreshReport
from engine.scheduling.scheduler import Scheduler
from engine.services.dags import load_serialized_dag
from engine.services.runs import trigger_dag
from tests.engine.scheduling.conftest import START, chain_dag
from tests.support.executors import RecordingExecutor
from tests.support.settings import make_settings

MAX_PASSES = 600
"""A safety net against a parse loop that never gets there, not a timing expectation."""

HANGING = "from engine import DAG\nimport time\n\nwhile True:\n    time.sleep(0.05)\n"


@pytest.fixture
def hang(dags_folder: Path) -> Path:
    path = dags_folder / "hang.py"
    path.write_text(HANGING)
    return path


@pytest.fixture
def make_scheduler(
    tmp_path: Path, db_url: str, dags_folder: Path, sessions: sessionmaker[Session],
    executor: RecordingExecutor,
) -> Iterator[Callable[..., Scheduler]]:  # fmt: skip
    """A parsing scheduler with ``core`` settings (one file parsed at a time by default);
    its children are killed at the end of the test."""
    made: list[Scheduler] = []

    def make(**core: Any) -> Scheduler:
        core = {"parse_parallelism": 1, "parse_timeout": "60s", **core}
        settings = make_settings(db_url, tmp_path / "home", dags_folder=dags_folder, core=core)
        made.append(Scheduler(session_factory=sessions, executor=executor, settings=settings))
        return made[-1]

    yield make
    for scheduler in made:
        loop_of(scheduler).close()


def loop_of(scheduler: Scheduler) -> ParseLoop:
    assert scheduler.parse_loop is not None
    return scheduler.parse_loop


def pass_until(loop: ParseLoop, done: Callable[[RefreshReport], bool]) -> RefreshReport:
    """Passes of ``loop`` (waiting for a child between them) until ``done``."""
    for _ in range(MAX_PASSES):
        report = loop.run_once(START)
        assert report is not None
        if done(report):
            return report
        loop.wait(1.0)
    raise AssertionError("the parse loop never got there")


def import_errors(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        rows = session.execute(sa.select(ParseImportError.filename, ParseImportError.message))
        return {Path(filename).name: message for filename, message in rows}


def dag_ids(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return sorted(session.scalars(sa.select(Dag.dag_id).where(Dag.is_active)))


def test_a_tick_queues_another_dags_tasks_while_a_file_hangs_at_import(
    make_scheduler: Callable[..., Scheduler], sessions: sessionmaker[Session],
    dags_folder: Path, hang: Path, executor: RecordingExecutor,
) -> None:  # fmt: skip
    chain_dag(dags_folder, "chain")
    scheduler = make_scheduler()
    loop = loop_of(scheduler)
    report = pass_until(loop, lambda report: "chain.py" in str(report.parsed))
    assert report.pending == [str(hang)]
    with sessions.begin() as session:
        trigger_dag(session=session, dag_id="chain", run_id="r", logical_date=None, now=START)
    tick = scheduler.tick(START)
    assert (tick.queued, tick.errors) == (1, [])
    assert executor.task_ids == ["a"]
    # The tick did not parse: the hanging file is still being imported, no error yet.
    assert loop.in_flight == [str(hang)]
    assert import_errors(sessions) == {}


def test_the_hanging_file_ends_as_an_import_error_at_its_timeout(
    make_scheduler: Callable[..., Scheduler], sessions: sessionmaker[Session],
    dags_folder: Path, hang: Path,
) -> None:  # fmt: skip
    chain_dag(dags_folder, "chain")
    loop = loop_of(make_scheduler(parse_timeout="2s"))
    first = pass_until(loop, lambda report: bool(report.parsed))
    assert first.parsed == [str(dags_folder / "chain.py")]  # stored without waiting for hang
    assert first.pending == [str(hang)]
    assert dag_ids(sessions) == ["chain"]
    last = pass_until(loop, lambda report: str(hang) in report.parsed)
    assert last.pending == []
    assert import_errors(sessions)["hang.py"].startswith(
        f"{hang}: timed out after 2 s while being imported (core.parse_timeout)"
    )
    assert loop.in_flight == []


def test_a_file_that_changes_is_picked_up_while_another_hangs(
    make_scheduler: Callable[..., Scheduler], sessions: sessionmaker[Session],
    dags_folder: Path, hang: Path,
) -> None:  # fmt: skip
    chain_dag(dags_folder, "chain")
    loop = loop_of(make_scheduler())
    pass_until(loop, lambda report: bool(report.parsed))
    chain_dag(dags_folder, "chain", tasks="'a', 'b', 'c', 'd'")
    report = pass_until(loop, lambda report: bool(report.parsed))
    assert (report.parsed, report.pending) == ([str(dags_folder / "chain.py")], [str(hang)])
    with sessions() as session:
        assert list(load_serialized_dag(session=session, dag_id="chain").tasks) == [
            "a", "b", "c", "d",
        ]  # fmt: skip
    assert loop.in_flight == [str(hang)]


def test_a_hanging_file_fixed_while_it_hangs_is_parsed_again(
    make_scheduler: Callable[..., Scheduler], sessions: sessionmaker[Session],
    dags_folder: Path, hang: Path,
) -> None:  # fmt: skip
    loop = loop_of(make_scheduler())
    assert pass_until(loop, lambda report: True).pending == [str(hang)]
    chain_dag(dags_folder, "hang")  # the same file, now a DAG that imports at once
    report = pass_until(loop, lambda report: bool(report.parsed))
    assert (report.parsed, report.dags_added) == ([str(hang)], ["hang"])
    assert import_errors(sessions) == {}
    assert loop.in_flight == []


def test_run_parses_beside_the_ticks_and_kills_its_children_when_stopped(
    make_scheduler: Callable[..., Scheduler], sessions: sessionmaker[Session],
    dags_folder: Path, hang: Path,
) -> None:  # fmt: skip
    chain_dag(dags_folder, "chain")
    scheduler = make_scheduler()
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop,))
    thread.start()
    try:
        for _ in range(MAX_PASSES):
            if dag_ids(sessions) == ["chain"] and loop_of(scheduler).in_flight:
                break
            stop.wait(0.1)
        assert dag_ids(sessions) == ["chain"]
        assert loop_of(scheduler).in_flight == [str(hang)]
    finally:
        stop.set()
        thread.join()
    assert loop_of(scheduler).in_flight == []


@pytest.mark.postgres
def test_one_pass_at_a_time_across_schedulers(
    make_scheduler: Callable[..., Scheduler], sessions: sessionmaker[Session],
    dags_folder: Path, db_url: str,
) -> None:  # fmt: skip
    if not db_url.startswith("postgresql"):
        pytest.skip("the advisory lock is PostgreSQL's")
    chain_dag(dags_folder, "chain")
    first, second = loop_of(make_scheduler()), loop_of(make_scheduler())
    with sessions.begin() as session:  # the first scheduler's pass, in progress
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARSE_LOCK_KEY})
        assert second.run_once(START) is None
    assert first.run_once(START) is not None


def test_a_dag_stays_active_while_its_edited_file_is_being_parsed(
    make_scheduler: Callable[..., Scheduler], sessions: sessionmaker[Session],
    dags_folder: Path,
) -> None:  # fmt: skip
    chain_dag(dags_folder, "slow")
    loop = loop_of(make_scheduler())
    pass_until(loop, lambda report: bool(report.parsed))
    (dags_folder / "slow.py").write_text(HANGING + "# now hangs\n")
    report = pass_until(loop, lambda report: True)
    assert (report.pending, report.dags_deactivated) == ([str(dags_folder / "slow.py")], [])
    assert dag_ids(sessions) == ["slow"]  # the last good version, until the new one is known


def test_the_child_of_a_file_deleted_while_it_hangs_is_collected(
    make_scheduler: Callable[..., Scheduler], dags_folder: Path, hang: Path
) -> None:
    loop = loop_of(make_scheduler(parse_timeout="1s"))
    assert pass_until(loop, lambda report: True).pending == [str(hang)]
    hang.unlink()
    # No refresh asks for the file again: the pass itself must reap its child, or the
    # dead child would keep the loop awake (and the process, a zombie) for good.
    pass_until(loop, lambda report: not loop.in_flight)
