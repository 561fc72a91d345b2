"""How many SQL statements and commits one try of a chain costs on PostgreSQL.

Counted with a ``before_cursor_execute`` listener on the worker's thread (the heartbeat
and log-streaming threads are left out): claim, finish and the fast-follow that queues
the next link. A count, not a time, so it does not depend on the machine; the bound is
what the worker's path achieves today (docs/decisions.md lists each statement), and a
change that adds a round trip to every try fails here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.models.transitions import set_task_state
from engine.state import TaskInstanceState
from tests.support.database import database_sessions
from tests.support.executors import RecordingExecutor
from tests.workers.conftest import create_run, folder_holding, queue_try, ti_id_of
from workers import RunnerContext, run_task

pytestmark = pytest.mark.postgres

TI = TaskInstanceState

MAX_STATEMENTS_PER_TRY = 7
MAX_COMMITS_PER_TRY = 2


@pytest.fixture
def sessions(seeded_postgres_url: str) -> Iterator[sessionmaker[Session]]:
    with database_sessions(seeded_postgres_url) as factory:
        yield factory


dags_folder = folder_holding("chain.py")


class Counted:
    """Statements and commits issued on the thread that created this."""

    def __init__(self, engine: sa.Engine) -> None:
        self.thread = threading.get_ident()
        self.statements: list[str] = []
        self.commits = 0
        self.rows_read = 0
        """Rows that SELECT statements returned (``cursor.rowcount``, PostgreSQL's)."""
        sa.event.listen(engine, "before_cursor_execute", self._statement)
        sa.event.listen(engine, "after_cursor_execute", self._executed)
        sa.event.listen(engine, "commit", self._commit)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() == self.thread:
            self.statements.append(statement)

    def _executed(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() == self.thread and statement.lstrip().startswith("SELECT"):
            self.rows_read += max(cursor.rowcount, 0)

    def _commit(self, conn: Any) -> None:
        if threading.get_ident() == self.thread:
            self.commits += 1

    def reset(self) -> None:
        self.statements.clear()
        self.commits = 0
        self.rows_read = 0


def test_a_chained_try_costs_at_most_its_budget_of_statements(
    sessions: sessionmaker[Session], ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    run_pk = create_run(sessions, dag_id="chain")
    ti_id = ti_id_of(sessions, "t0", run_pk)
    assert run_task(ti_id, queue_try(sessions, ti_id), ctx=ctx) is TI.SUCCESS  # warms caches
    counted = Counted(sessions.kw["bind"])
    for link in ("t1", "t2"):
        [job] = executor.submitted[-1:]
        assert job.task_id == link
        counted.reset()

        assert run_task(job.ti_id, job.try_number, ctx=ctx) is TI.SUCCESS

        listing = "\n".join(s.split("\n")[0][:100] for s in counted.statements)
        assert len(counted.statements) <= MAX_STATEMENTS_PER_TRY, listing
        assert counted.commits <= MAX_COMMITS_PER_TRY
    assert executor.submitted[-1].task_id == "t3"  # the fast-follow queued the next link


def test_a_leaf_of_a_wide_fan_in_reads_a_row_not_the_run(
    sessions: sessionmaker[Session], ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    run_pk = create_run(sessions, dag_id="wide_fan")
    first, second = (ti_id_of(sessions, task_id, run_pk) for task_id in ("w00", "w01"))
    assert run_task(first, queue_try(sessions, first), ctx=ctx) is TI.SUCCESS  # warms caches
    try_number = queue_try(sessions, second)
    counted = Counted(sessions.kw["bind"])

    assert run_task(second, try_number, ctx=ctx) is TI.SUCCESS

    # The join's 66 upstream instances are not read: one row says that one is unfinished.
    assert counted.rows_read <= 3, counted.statements
    # claim, finish, that one row, the run's instances waiting for the freed slot (none
    # here: the LIMITed read of the fast-follow's refill), the scheduler's wake-up
    assert len(counted.statements) == 5, counted.statements


def test_a_leaf_of_a_wide_fan_in_refills_its_slot_in_six_statements(
    sessions: sessionmaker[Session], ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    run_pk = create_run(sessions, dag_id="wide_fan")
    first, second, waiting = (ti_id_of(sessions, t, run_pk) for t in ("w00", "w01", "w05"))
    assert run_task(first, queue_try(sessions, first), ctx=ctx) is TI.SUCCESS  # warms caches
    try_number = queue_try(sessions, second)
    with sessions.begin() as session:  # w05 is ready and waits for a slot
        assert set_task_state(
            session=session, ti_id=waiting, expected=TI.NONE, new=TI.SCHEDULED, try_number=0
        )
    counted = Counted(sessions.kw["bind"])

    assert run_task(second, try_number, ctx=ctx) is TI.SUCCESS

    assert [job.task_id for job in executor.submitted] == ["w05"]
    # claim, finish, the run's instances waiting (w05, an upstream instance of the join
    # still unfinished: no fan-in check), the pool lock, the slots in use (w05 checked
    # again), w05 queued; no wake-up: the scheduler has nothing to do
    assert len(counted.statements) == 6, counted.statements
    assert not any("NOTIFY" in statement for statement in counted.statements)


def test_the_start_of_a_fan_out_schedules_its_leaves_in_one_statement(
    sessions: sessionmaker[Session], ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    run_pk = create_run(sessions, dag_id="fan")
    root = ti_id_of(sessions, "root", run_pk)
    try_number = queue_try(sessions, root)
    counted = Counted(sessions.kw["bind"])

    assert run_task(root, try_number, ctx=ctx) is TI.SUCCESS

    scheduling = [
        statement
        for statement in counted.statements
        if statement.startswith("UPDATE task_instance") and "scheduled_at" in statement
    ]
    assert len(scheduling) == 1, counted.statements  # the five leaves' none → scheduled
    assert len(executor.submitted) == 3  # max_active_tasks


def test_an_instance_of_a_mapped_fan_out_reads_a_row_not_its_siblings(
    sessions: sessionmaker[Session], ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    run_pk = create_run(sessions, dag_id="mapped_fan")
    make = ti_id_of(sessions, "make", run_pk)
    assert run_task(make, queue_try(sessions, make), ctx=ctx) is TI.SUCCESS
    first, second, *rest = executor.submitted
    assert {job.task_id for job in executor.submitted} == {"each"}
    assert len(rest) == 4
    assert run_task(first.ti_id, first.try_number, ctx=ctx) is TI.SUCCESS  # warms caches
    counted = Counted(sessions.kw["bind"])

    assert run_task(second.ti_id, second.try_number, ctx=ctx) is TI.SUCCESS

    # The 6 instances of ``each`` are not read: one row says that one is unfinished.
    assert counted.rows_read <= 3, counted.statements
    # claim, its argument (the upstream XCom), finish, that one row, the instances waiting
    # for the freed slot (none), the scheduler's wake-up
    assert len(counted.statements) == 6, counted.statements
    for job in rest:
        assert run_task(job.ti_id, job.try_number, ctx=ctx) is TI.SUCCESS
    assert executor.submitted[-1].task_id == "gather"  # the last instance queued the join
