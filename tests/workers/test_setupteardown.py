"""Setup and teardown end to end with the in-process runner and the scheduler: the work
fails, the teardown still runs with the setup's XCom, the run fails on the work."""

from __future__ import annotations

import textwrap
from pathlib import Path

import sqlalchemy as sa

from engine.models import DagRun, TaskInstance
from engine.scheduling.scheduler import Scheduler
from engine.state import DagRunState
from tests.support.executors import RecordingExecutor
from tests.support.settings import make_settings
from tests.workers.conftest import (
    T0,
    TI,
    Sessions,
    attempts,
    create_run,
    queue_try,
    refresh,
    states,
)
from workers import RunnerContext, run_task

DAG_FILE = """
from datetime import datetime
from pathlib import Path

from engine import DAG, setup, task, teardown

MARK = Path(__file__).with_name("teardown.mark")

with DAG("resource", schedule=None, start_date=datetime(2026, 1, 1)) as dag:

    @setup
    def create() -> str:
        return "cluster-1"

    @task
    def use(name: str) -> None:
        raise ValueError(f"work on {name} broke")

    @teardown
    def delete(name: str) -> None:
        MARK.write_text(f"deleted {name}")

    cluster = create()
    use(cluster) >> delete(cluster)
"""


def _ti_id(sessions: Sessions, task_id: str) -> int:
    with sessions() as session:
        stmt = sa.select(TaskInstance.id).where(
            TaskInstance.dag_id == "resource", TaskInstance.task_id == task_id
        )
        return session.scalars(stmt).one()


def test_teardown_runs_after_failed_work_and_the_run_fails(
    sessions: Sessions,
    dags_folder: Path,
    ctx: RunnerContext,
    executor: RecordingExecutor,
    db_url: str,
    tmp_path: Path,
) -> None:
    (dags_folder / "resource.py").write_text(textwrap.dedent(DAG_FILE))
    refresh(sessions, dags_folder)
    create_run(sessions, dag_id="resource")
    scheduler = Scheduler(
        session_factory=sessions,
        executor=executor,
        settings=make_settings(db_url, tmp_path / "home", dags_folder=dags_folder),
        parse_dags=False,
    )
    setup_id = _ti_id(sessions, "create")
    assert run_task(setup_id, queue_try(sessions, setup_id), ctx=ctx) is TI.SUCCESS
    [use] = executor.submitted  # fast-follow: the work, not yet the teardown
    assert use.task_id == "use"

    assert run_task(use.ti_id, use.try_number, ctx=ctx) is TI.FAILED
    scheduler.tick(T0)
    [delete] = executor.submitted[1:]
    assert delete.task_id == "delete"
    assert run_task(delete.ti_id, delete.try_number, ctx=ctx) is TI.SUCCESS
    scheduler.tick(T0)

    assert states(sessions, "resource") == {
        "create": TI.SUCCESS,
        "use": TI.FAILED,
        "delete": TI.SUCCESS,
    }
    assert (dags_folder / "teardown.mark").read_text() == "deleted cluster-1"
    assert "work on cluster-1 broke" in (attempts(sessions, use.ti_id)[0].error_message or "")
    with sessions() as session:
        run = session.scalars(sa.select(DagRun).where(DagRun.dag_id == "resource")).one()
    assert run.state is DagRunState.FAILED
