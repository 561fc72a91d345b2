"""Advancing running runs: readiness, branches, priority, limits, finishing."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from engine.models import Pool, XCom
from engine.scheduling import BRANCH_XCOM_KEY, Limits, decide_ready, queue_ready
from engine.services.dags import load_serialized_dag
from engine.state import DagRunState
from tests.engine.scheduling.conftest import (
    START,
    TI,
    Rig,
    chain_dag,
)

SEC = timedelta(seconds=1)


def test_a_chain_runs_task_by_task_and_the_run_succeeds(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "chain")
    rig.load()
    rig.trigger("chain")
    scheduler = rig.scheduler()
    for step, task_id in enumerate(["a", "b", "c"]):
        report = scheduler.tick(START + step * SEC)
        assert report.queued == 1
        assert not report.errors
        job = rig.executor.submitted[-1]
        assert (job.task_id, job.try_number, job.job_id) == (task_id, 1, f"{job.ti_id}:1")
        rig.work(job, TI.SUCCESS, START + step * SEC)
    report = scheduler.tick(START + 5 * SEC)
    assert report.runs_finished == 1
    (run,) = rig.runs("chain")
    assert run.state is DagRunState.SUCCESS
    assert run.end_date == START + 5 * SEC
    assert rig.executor.task_ids == ["a", "b", "c"]


def test_failure_propagates_upstream_failed_and_fails_the_run(rig: Rig) -> None:
    rig.manual_dag(
        "rules",
        """
            a = EmptyOperator(task_id='a')
            b = EmptyOperator(task_id='b')
            c = EmptyOperator(task_id='c')
            cleanup = EmptyOperator(task_id='cleanup', trigger_rule='all_done')
            alert = EmptyOperator(task_id='alert', trigger_rule='one_failed')
            a >> b >> c >> cleanup
            a >> alert
        """,
    )
    scheduler = rig.first_tick("rules")
    rig.work(rig.executor.submitted[0], TI.FAILED, START)
    scheduler.tick(START + SEC)
    got = rig.states("rules")
    assert (got["b"], got["c"]) == (TI.UPSTREAM_FAILED, TI.UPSTREAM_FAILED)
    assert {got["cleanup"], got["alert"]} == {TI.QUEUED}
    for job in rig.executor.submitted[1:]:
        rig.work(job, TI.SUCCESS, START + SEC)
    scheduler.tick(START + 2 * SEC)
    assert rig.runs("rules")[0].state is DagRunState.SUCCESS  # leaves cleanup, alert ok


def test_branch_skips_the_tasks_it_did_not_choose(rig: Rig) -> None:
    rig.manual_dag(
        "branchy",
        """
            pick = BranchPythonOperator(task_id='pick', python_callable=lambda: ['left'])
            left, right = EmptyOperator(task_id='left'), EmptyOperator(task_id='right')
            after_right = EmptyOperator(task_id='after_right')
            join = EmptyOperator(task_id='join', trigger_rule='none_failed_min_one_success')
            pick >> [left, right]
            right >> after_right
            [left, after_right] >> join
        """,
    )
    scheduler = rig.first_tick("branchy")
    (job,) = rig.executor.submitted
    with rig.sessions.begin() as session:
        session.add(XCom(dag_id="branchy", run_id="r", task_id="pick", key=BRANCH_XCOM_KEY,
                         value=["left"]))  # fmt: skip
    rig.work(job, TI.SUCCESS, START)
    scheduler.tick(START + SEC)
    got = rig.states("branchy")
    assert (got["right"], got["after_right"]) == (TI.SKIPPED, TI.SKIPPED)
    assert rig.executor.task_ids == ["pick", "left"]
    rig.work(rig.executor.submitted[-1], TI.SUCCESS, START + SEC)
    scheduler.tick(START + 2 * SEC)
    assert rig.executor.task_ids[-1] == "join"


def test_priority_order_and_parallelism(rig: Rig) -> None:
    rig.manual_dag(
        "prio",
        """
            EmptyOperator(task_id='low', priority='low', priority_weight=100)
            EmptyOperator(task_id='default_light', priority_weight=1)
            EmptyOperator(task_id='default_heavy', priority_weight=5)
            EmptyOperator(task_id='high', priority='high')
        """,
    )
    rig.load()
    rig.trigger("prio")
    scheduler = rig.scheduler(parallelism=3)
    assert scheduler.tick(START).queued == 3
    assert rig.executor.task_ids == ["high", "default_heavy", "default_light"]
    assert rig.executor.batches == [3]  # one batch: one Redis transaction with RQ
    assert scheduler.tick(START + SEC).queued == 0  # all three slots still held
    rig.work(rig.executor.submitted[0], TI.SUCCESS, START + SEC)
    scheduler.tick(START + 2 * SEC)
    assert rig.executor.task_ids[-1] == "low"


def test_pools_and_max_active_tasks_hold_tasks_back(rig: Rig) -> None:
    rig.manual_dag(
        "pooled",
        """
            for n in range(3):
                EmptyOperator(task_id=f'p{n}', pool='small', pool_slots=2)
            EmptyOperator(task_id='ghost', pool='missing')
        """,
    )
    chain_dag(rig.dags_folder, "narrow", tasks="'x'", max_active_tasks="1")
    rig.load()
    with rig.sessions.begin() as session:
        session.add(Pool(name="small", slots=4))
    rig.trigger("pooled")
    rig.trigger("narrow", "r1")
    rig.trigger("narrow", "r2")
    scheduler = rig.scheduler()
    scheduler.tick(START)
    assert sorted(rig.executor.task_ids) == ["p0", "p1", "x"]
    got = rig.states("pooled")
    assert (got["p2"], got["ghost"]) == (TI.SCHEDULED, TI.SCHEDULED)
    with rig.sessions.begin() as session:
        session.add(Pool(name="missing", slots=1))
    scheduler.tick(START + SEC)
    assert sorted(rig.executor.task_ids) == ["ghost", "p0", "p1", "x"]


def test_fast_follow_helpers_work_inside_a_callers_transaction(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "chain")
    rig.load()
    rig.trigger("chain")
    with rig.sessions.begin() as session:
        (run,) = rig.runs("chain")
        run = session.merge(run)
        dag = load_serialized_dag(session=session, dag_id="chain")
        assert decide_ready(session=session, dag_run=run, dag=dag, task_ids=["b"], now=START) == []
        ready = decide_ready(session=session, dag_run=run, dag=dag, task_ids=["a"], now=START)
        jobs = queue_ready(session=session, waiting=ready, limits=Limits(parallelism=1), now=START)
        assert [(j.task_id, j.try_number) for j in jobs] == [("a", 1)]
    assert rig.states("chain") == {"a": TI.QUEUED, "b": TI.NONE, "c": TI.NONE}


def test_task_added_to_the_dag_later_does_not_block_finishing(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "chain", tasks="'a'")
    scheduler = rig.first_tick("chain")
    chain_dag(rig.dags_folder, "chain", tasks="'a', 'b'")
    rig.load(START + SEC)
    rig.work(rig.executor.submitted[0], TI.SUCCESS, START)
    scheduler.tick(START + 2 * SEC)
    assert rig.runs("chain")[0].state is DagRunState.SUCCESS
    with rig.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(XCom)) == 0
