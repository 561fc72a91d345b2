"""EmptyOperator never reaches a worker: the tick marks it ``success`` when it is ready."""

from __future__ import annotations

import textwrap

import sqlalchemy as sa

from engine.models import TaskAttempt, TaskInstance
from engine.state import DagRunState
from engine.timeutil import log_time
from tests.engine.scheduling.conftest import START, TI, Rig


def _dag(rig: Rig, dag_id: str, tasks: str) -> None:
    """A manual DAG with Loom's real EmptyOperator (the rig's header swaps it for a stand-in)."""
    body = textwrap.indent(textwrap.dedent(tasks), "    ")
    (rig.dags_folder / f"{dag_id}.py").write_text(
        "from datetime import datetime\n"
        "from engine import DAG, EmptyOperator, PythonOperator\n"
        f"with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1)) as dag:\n{body}"
    )


def test_a_chain_of_empty_operators_succeeds_in_one_tick_without_a_job(rig: Rig) -> None:
    _dag(
        rig,
        "joins",
        """
        start = EmptyOperator(task_id='start')
        left = EmptyOperator(task_id='left')
        right = EmptyOperator(task_id='right')
        end = EmptyOperator(task_id='end')
        start >> [left, right] >> end
        """,
    )
    rig.load()
    rig.trigger("joins")

    report = rig.scheduler().tick(START)

    assert rig.executor.submitted == []
    assert set(rig.states("joins").values()) == {TI.SUCCESS}
    assert report.runs_finished == 1  # the same tick sees the states and ends the run
    assert rig.runs("joins")[0].state is DagRunState.SUCCESS
    with rig.sessions() as session:
        tis = session.scalars(sa.select(TaskInstance)).all()
        assert {(ti.try_number, ti.duration, ti.end_date is not None) for ti in tis} == {
            (1, 0.0, True)
        }
        attempts = session.scalars(sa.select(TaskAttempt)).all()
        assert len(attempts) == 4
        assert {(a.try_number, a.state) for a in attempts} == {(1, "success")}
        # Stamped like every line of a try's log, with the tick's time (UTC).
        line = f"{log_time(START)} EmptyOperator: marked success by the scheduler"
        assert all((a.log or "").startswith(line) for a in attempts)


def test_empty_operators_with_execute_or_success_callbacks_go_to_a_worker(rig: Rig) -> None:
    _dag(
        rig,
        "hooks",
        """
        def note(context):
            print(context['ti'].task_id)
        EmptyOperator(task_id='on_success', on_success_callback=note)
        EmptyOperator(task_id='on_execute', on_execute_callback=note)
        EmptyOperator(task_id='on_failure', on_failure_callback=note)
        """,
    )
    rig.first_tick("hooks")

    assert sorted(job.task_id for job in rig.executor.submitted) == ["on_execute", "on_success"]
    assert rig.states("hooks")["on_failure"] is TI.SUCCESS


def test_an_empty_join_below_real_work_finishes_when_the_work_does(rig: Rig) -> None:
    _dag(
        rig,
        "work",
        """
        work = PythonOperator(task_id='work', python_callable=print)
        work >> EmptyOperator(task_id='join') >> EmptyOperator(task_id='done')
        """,
    )
    scheduler = rig.first_tick("work")
    [job] = rig.executor.submitted
    assert rig.states("work")["join"] is TI.NONE

    rig.work(job, TI.SUCCESS, START)
    scheduler.tick(START)

    assert rig.states("work") == {"work": TI.SUCCESS, "join": TI.SUCCESS, "done": TI.SUCCESS}
    assert len(rig.executor.submitted) == 1
