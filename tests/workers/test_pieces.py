"""The runner's parts on their own: log tail, heartbeat, DAG cache, XCom store, outcomes."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import ConflictError, NotFoundError
from engine.execution.outcomes import record_zombie
from engine.models import DeadLetter, TaskInstance
from engine.services.dags import load_serialized_dag
from engine.state import TaskInstanceState
from tests.workers.conftest import Sessions, attempts, load_ti, queued, refresh, xcoms
from workers import DagCache, DatabaseXComStore, RunnerContext, run_task
from workers.heartbeat import Heartbeat, beat
from workers.logcapture import TailBuffer, capture_output
from workers.xcom import XComTooLargeError

TI = TaskInstanceState
NOW = datetime(2026, 2, 1, 12, tzinfo=UTC)


# -- log capture (no database) -------------------------------------------------------------


def test_tail_buffer_keeps_the_last_bytes() -> None:
    stamp = "2026-02-01 12:00:00,000 "  # 24 bytes, counted like the text
    buffer = TailBuffer(34, clock=lambda: NOW)
    buffer.write("0123456789")
    assert (buffer.getvalue(), buffer.truncated) == (stamp + "0123456789", False)
    buffer.write("abcd")  # the same line goes on: no second stamp
    assert (buffer.getvalue(), buffer.truncated) == (stamp[4:] + "0123456789abcd", True)
    buffer.write("x" * 50)
    assert buffer.getvalue() == "x" * 34


def test_tail_buffer_never_splits_a_character() -> None:
    buffer = TailBuffer(5)
    buffer.write("ééé")  # 6 bytes; keeping 5 would cut the first é in half
    assert buffer.getvalue() == "éé"
    assert len(buffer.getvalue().encode()) <= 5


def test_capture_output_takes_print_and_logging_but_not_runner_threads() -> None:
    import logging

    logger = logging.getLogger("user.code")
    with capture_output(TailBuffer(1000)) as log:
        print("printed")
        logger.warning("logged")
        thread = threading.Thread(
            target=lambda: logger.warning("from heartbeat"), name="loom-heartbeat-1-1"
        )
        thread.start()
        thread.join()
    text = log.getvalue()
    assert "printed" in text
    assert "WARNING user.code: logged" in text
    assert "from heartbeat" not in text


# -- heartbeat -----------------------------------------------------------------------------


def test_beat_only_touches_the_running_try(sessions: Sessions, ctx: RunnerContext) -> None:
    ti_id, try_number = queued(sessions, "produce")
    with sessions.begin() as session:
        assert not beat(session=session, ti_id=ti_id, try_number=try_number, now=NOW)  # queued
    assert run_task(ti_id, try_number, ctx=ctx) is TI.SUCCESS
    with sessions.begin() as session:
        assert not beat(session=session, ti_id=ti_id, try_number=try_number, now=NOW)
    assert load_ti(sessions, ti_id).last_heartbeat_at != NOW


def _fast_heartbeat(sessions: Sessions, ti_id: int, try_number: int, **options: Any) -> Heartbeat:
    """A heartbeat of the try every 20 ms, on the wall clock."""
    return Heartbeat(
        session_factory=sessions,
        ti_id=ti_id,
        try_number=try_number,
        interval=timedelta(seconds=0.02),
        clock=lambda: datetime.now(UTC),
        **options,
    )


def test_heartbeat_stops_when_the_try_is_taken_away(sessions: Sessions, dags_folder: Path) -> None:
    ti_id, try_number = queued(sessions, "sleepy")
    with sessions.begin() as session:  # claimed by some worker
        session.execute(
            sa.update(TaskInstance).where(TaskInstance.id == ti_id).values(state=TI.RUNNING)
        )
    heartbeat = _fast_heartbeat(sessions, ti_id, try_number)
    with heartbeat:
        _wait_for(lambda: heartbeat.beats >= 2)
        with sessions.begin() as session:
            session.execute(
                sa.update(TaskInstance).where(TaskInstance.id == ti_id).values(try_number=99)
            )
        _wait_for(lambda: heartbeat.lost)
    assert heartbeat.lost


def test_heartbeat_stops_past_its_deadline(sessions: Sessions, dags_folder: Path) -> None:
    ti_id, try_number = queued(sessions, "sleepy")
    heartbeat = _fast_heartbeat(sessions, ti_id, try_number, stop_at=time.monotonic())
    with heartbeat:
        time.sleep(0.1)
        assert not heartbeat._thread.is_alive()
    assert heartbeat.beats == 0


def _wait_for(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# -- DAG cache -----------------------------------------------------------------------------


def test_dag_cache_imports_each_file_version_once(dags_folder: Path) -> None:
    cache = DagCache()
    path = str(dags_folder / "work.py")
    dag, task = cache.get_task(path, "work", "produce", dags_folder=dags_folder)
    assert (dag.dag_id, task.task_id, cache.imports) == ("work", "produce", 1)
    cache.get_task(path, "work", "consume", dags_folder=dags_folder)
    assert cache.imports == 1

    (dags_folder / "work.py").write_text((dags_folder / "work.py").read_text() + "\n# changed\n")
    cache.get_task(path, "work", "consume", dags_folder=dags_folder)
    assert cache.imports == 2


def test_dag_cache_names_a_missing_task_or_file(dags_folder: Path) -> None:
    cache = DagCache()
    with pytest.raises(NotFoundError, match="no longer defines task 'nope' of DAG 'work'"):
        cache.get_task(str(dags_folder / "work.py"), "work", "nope")
    with pytest.raises(NotFoundError, match="does not exist on this worker"):
        cache.get_task(str(dags_folder / "gone.py"), "work", "produce")


@pytest.mark.parametrize("reparsed", [False, True], ids=["file-changed", "new-version"])
def test_a_file_that_no_longer_defines_the_task_fails_the_try(
    sessions: Sessions, ctx: RunnerContext, dags_folder: Path, reparsed: bool
) -> None:
    ti_id, try_number = queued(sessions, "final")
    source = dags_folder / "work.py"
    source.write_text(source.read_text().replace('task_id="final"', 'task_id="renamed"'))
    if reparsed:
        refresh(sessions, dags_folder)  # version 2 has no "final"; the run stays on version 1

    assert run_task(ti_id, try_number, ctx=ctx) is TI.FAILED  # claimed, not "removed"

    [attempt] = attempts(sessions, ti_id)
    assert attempt.error_type == "NotFoundError"
    assert attempt.error_message == (
        f"{source} no longer defines task 'final' of DAG 'work': the run is on version 1 of "
        "the DAG, which has the task, but workers run the DAG file's current code"
    )


def test_a_dag_file_that_fails_to_import_fails_the_try_with_its_output(
    sessions: Sessions, ctx: RunnerContext, dags_folder: Path
) -> None:
    ti_id, try_number = queued(sessions, "final")
    source = dags_folder / "work.py"
    source.write_text('print("importing")\nraise RuntimeError("broken file")\n')

    assert run_task(ti_id, try_number, ctx=ctx) is TI.FAILED

    [attempt] = attempts(sessions, ti_id)
    assert (attempt.error_type, attempt.error_message) == (
        "RuntimeError",
        "DAG file does not import: RuntimeError: broken file",
    )
    assert attempt.log is not None
    assert "importing" in attempt.log


# -- XCom store ----------------------------------------------------------------------------


def test_xcom_store_refuses_values_over_the_limit(sessions: Sessions) -> None:
    store = DatabaseXComStore(sessions, max_bytes=10)
    store.set("d", "r", "t", "small", [1, 2])
    with pytest.raises(XComTooLargeError, match=r"core.max_xcom_bytes \(10\)"):
        store.set("d", "r", "t", "big", "x" * 20)
    assert store.get("d", "r", "t", "small") == [1, 2]


def test_xcom_values_are_written_only_on_finish(sessions: Sessions) -> None:
    store = DatabaseXComStore(sessions, max_bytes=100)
    store.set("work", "r", "t", "return_value", 1)
    assert xcoms(sessions, "t") == {}
    with sessions.begin() as session:
        store.write(session=session, dag_id="work", run_id="r", task_id="t")
    assert xcoms(sessions, "t") == {"return_value": 1}
    fresh = DatabaseXComStore(sessions, max_bytes=100)
    assert fresh.get("work", "r", "t", "return_value") == 1


# -- outcomes shared with the scheduler ----------------------------------------------------


def _fail_as_zombie(
    session: Session,
    ti_id: int,
    task_id: str,
    now: datetime,
    *,
    message: str = "no heartbeat",
    rng: random.Random | None = None,
) -> TaskInstanceState:
    """What the scheduler does to a try whose heartbeat stopped: fail it."""
    ti = session.get_one(TaskInstance, ti_id)
    task = load_serialized_dag(session=session, dag_id="work").tasks[task_id]
    return record_zombie(session=session, ti=ti, task=task, message=message, now=now, rng=rng)


def test_record_failure_serves_zombie_detection(sessions: Sessions, dags_folder: Path) -> None:
    ti_id, _try_number = queued(sessions, "final")
    with sessions.begin() as session:
        session.execute(
            sa.update(TaskInstance)
            .where(TaskInstance.id == ti_id)
            .values(state=TI.RUNNING, hostname="lost-host", start_date=NOW)
        )
    with sessions.begin() as session:
        state = _fail_as_zombie(session, ti_id, "final", NOW + timedelta(minutes=5))
    assert state is TI.FAILED
    ti = load_ti(sessions, ti_id)
    assert (ti.state, ti.duration) == (TI.FAILED, 300.0)
    [attempt] = attempts(sessions, ti_id)
    assert (attempt.try_number, attempt.state, attempt.error_type) == (1, "failed", "Zombie")
    assert attempt.hostname == "lost-host"
    with sessions() as session:
        dead = session.scalars(sa.select(DeadLetter)).one()
        assert dead.payload["worker_host"] == "lost-host"


def test_record_failure_on_a_finished_try_is_a_conflict(
    sessions: Sessions, dags_folder: Path
) -> None:
    ti_id, _ = queued(sessions, "flaky")
    with sessions.begin() as session:
        ti = session.get_one(TaskInstance, ti_id)
        ti.state = TI.RUNNING
        session.flush()
        ti.state = TI.SUCCESS
        session.flush()
        with pytest.raises(ConflictError, match="it is success"):
            _fail_as_zombie(session, ti_id, "flaky", NOW, message="late", rng=random.Random(1))


def test_a_try_taken_away_while_running_writes_nothing(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id, try_number = queued(sessions, "sleepy")  # sleeps 0.6s, retries 0

    def zombie_detection() -> None:
        _wait_for(lambda: load_ti(sessions, ti_id).state is TI.RUNNING)
        with sessions.begin() as session:
            _fail_as_zombie(session, ti_id, "sleepy", datetime.now(UTC))

    scheduler = threading.Thread(target=zombie_detection)
    scheduler.start()
    state = run_task(ti_id, try_number, ctx=ctx)
    scheduler.join()

    assert state is None
    assert load_ti(sessions, ti_id).state is TI.FAILED
    [attempt] = attempts(sessions, ti_id)
    assert (attempt.state, attempt.error_type, attempt.log) == ("failed", "Zombie", None)
    assert xcoms(sessions, "sleepy") == {}
