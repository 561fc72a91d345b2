"""A DAG file that stops importing while its run is under way, worker and scheduler
together on real databases: the try that meets the broken file fails naming it, the
scheduler then holds the retry (no try is burnt) while the file does not import, and the
task runs as soon as the parser has seen the file import again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from engine.parser import ParseOptions, refresh_dags
from engine.scheduling.scheduler import Scheduler
from engine.services.brokenfiles import broken_dag
from engine.timeutil import utcnow
from tests.support.executors import RecordingExecutor
from tests.support.settings import make_settings
from tests.workers.conftest import T0, TI, Sessions, attempts, create_run, load_ti, run_first_try
from workers import RunnerContext, run_task

GOOD = """
from datetime import datetime, timedelta
from engine import DAG, PythonOperator

with DAG("shaky", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonOperator(task_id="a", python_callable=lambda: 1, retries=3,
                   retry_delay=timedelta(seconds=0))
"""

BROKEN = GOOD + "\nthis line is not python\n"


def parse(sessions: Sessions, folder: Path, minutes: int) -> None:
    """The parser's pass at ``T0 + minutes`` (each later than the one before)."""
    with sessions.begin() as session:
        refresh_dags(
            session=session,
            options=ParseOptions(folder, timeout=60, parallelism=1),
            now=T0 + timedelta(minutes=minutes),
        )


@pytest.fixture
def scheduler(
    tmp_path: Path, db_url: str, dags_folder: Path, sessions: sessionmaker[Session],
    executor: RecordingExecutor,
) -> Scheduler:  # fmt: skip
    settings = make_settings(db_url, tmp_path / "home", dags_folder=dags_folder)
    return Scheduler(
        session_factory=sessions, executor=executor, settings=settings, parse_dags=False
    )


def test_a_broken_file_fails_one_try_then_holds_the_retries_until_fixed(
    sessions: Sessions,
    ctx: RunnerContext,
    dags_folder: Path,
    scheduler: Scheduler,
    executor: RecordingExecutor,
) -> None:
    (dags_folder / "shaky.py").write_text(GOOD)
    parse(sessions, dags_folder, 1)
    run_pk = create_run(sessions, dag_id="shaky")
    (dags_folder / "shaky.py").write_text(BROKEN)  # before the parser has seen it

    state, ti_id = run_first_try(sessions, ctx, "a", run_pk)
    assert state is TI.UP_FOR_RETRY  # this try counts, as in Airflow: the worker cannot tell
    [first] = attempts(sessions, ti_id)
    assert first.error_message is not None
    assert first.error_message.startswith("DAG file does not import: SyntaxError: ")

    parse(sessions, dags_folder, 2)  # the parser sees the broken file
    with sessions() as session:
        broken = broken_dag(session=session, dag_id="shaky")
        assert broken is not None
        assert broken.reason.startswith("DAG file does not import: ")
        assert "SyntaxError" in broken.reason
    later = utcnow() + timedelta(seconds=5)
    for step in range(3):  # the retry is due, but held: no try is spent
        report = scheduler.tick(later + timedelta(seconds=step))
        assert report.queued == 0, report
        assert not report.errors
    held = load_ti(sessions, ti_id)
    assert (held.state, held.try_number) == (TI.SCHEDULED, 1)
    assert executor.submitted == []

    (dags_folder / "shaky.py").write_text(GOOD)
    parse(sessions, dags_folder, 3)  # fixed: the same try goes on
    report = scheduler.tick(later + timedelta(seconds=10))
    assert report.queued == 1
    [job] = executor.submitted
    assert (job.ti_id, job.try_number) == (ti_id, 2)
    assert run_task(ti_id, 2, ctx=ctx) is TI.SUCCESS


def test_only_the_invalid_dag_of_a_file_is_held(
    sessions: Sessions, dags_folder: Path, scheduler: Scheduler, executor: RecordingExecutor
) -> None:
    pair = """
from datetime import datetime
from engine import DAG, PythonOperator

with DAG("fine", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonOperator(task_id="a", python_callable=print)

with DAG("loopy", schedule=None, start_date=datetime(2026, 1, 1)):
    a = PythonOperator(task_id="a", python_callable=print)
    b = PythonOperator(task_id="b", python_callable=print)
    a >> b
"""
    (dags_folder / "pair.py").write_text(pair)
    parse(sessions, dags_folder, 1)
    create_run(sessions, dag_id="fine", run_id="f")
    create_run(sessions, dag_id="loopy", run_id="l")
    (dags_folder / "pair.py").write_text(pair + "    b >> a\n")
    parse(sessions, dags_folder, 2)
    with sessions() as session:
        assert broken_dag(session=session, dag_id="fine") is None
        loopy = broken_dag(session=session, dag_id="loopy")
    assert loopy is not None
    assert "dependency cycle: a -> b -> a (closed by b >> a)" in loopy.reason
    report = scheduler.tick(utcnow())
    assert [(job.dag_id, job.task_id) for job in executor.submitted] == [("fine", "a")]
    assert report.queued == 1
