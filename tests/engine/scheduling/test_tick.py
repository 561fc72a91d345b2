"""Advancing running runs: readiness, branches, priority, limits, finishing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.models import Pool, XCom
from engine.scheduling import BRANCH_XCOM_KEY, Limits, decide_ready, queue_ready
from engine.services.dags import load_serialized_dag
from engine.services.runs import trigger_dag
from engine.state import DagRunState
from tests.engine.scheduling.conftest import (
    START,
    TI,
    chain_dag,
    load,
    runs,
    states,
    work,
    write_dag,
)
from tests.support.executors import RecordingExecutor

SEC = timedelta(seconds=1)


def _trigger(sessions: sessionmaker[Session], dag_id: str, run_id: str = "r") -> None:
    with sessions.begin() as session:
        trigger_dag(session=session, dag_id=dag_id, run_id=run_id, now=START)


def test_a_chain_runs_task_by_task_and_the_run_succeeds(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    executor: RecordingExecutor,
) -> None:
    chain_dag(dags_folder, "chain")
    load(sessions, dags_folder)
    _trigger(sessions, "chain")
    scheduler = make_scheduler()
    for step, task_id in enumerate(["a", "b", "c"]):
        report = scheduler.tick(START + step * SEC)
        assert report.queued == 1
        assert not report.errors
        job = executor.submitted[-1]
        assert (job.task_id, job.try_number, job.job_id) == (task_id, 1, f"{job.ti_id}:1")
        work(sessions, job, TI.SUCCESS, START + step * SEC)
    report = scheduler.tick(START + 5 * SEC)
    assert report.runs_finished == 1
    (run,) = runs(sessions, "chain")
    assert run.state is DagRunState.SUCCESS
    assert run.end_date == START + 5 * SEC
    assert executor.task_ids == ["a", "b", "c"]


def test_failure_propagates_upstream_failed_and_fails_the_run(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    executor: RecordingExecutor,
) -> None:
    write_dag(
        dags_folder,
        "rules",
        """
        with DAG('rules', schedule=None, start_date=datetime(2026, 1, 1)) as dag:
            a = EmptyOperator(task_id='a')
            b = EmptyOperator(task_id='b')
            c = EmptyOperator(task_id='c')
            cleanup = EmptyOperator(task_id='cleanup', trigger_rule='all_done')
            alert = EmptyOperator(task_id='alert', trigger_rule='one_failed')
            a >> b >> c >> cleanup
            a >> alert
        """,
    )
    load(sessions, dags_folder)
    _trigger(sessions, "rules")
    scheduler = make_scheduler()
    scheduler.tick(START)
    work(sessions, executor.submitted[0], TI.FAILED, START)
    scheduler.tick(START + SEC)
    got = states(sessions, "rules")
    assert (got["b"], got["c"]) == (TI.UPSTREAM_FAILED, TI.UPSTREAM_FAILED)
    assert {got["cleanup"], got["alert"]} == {TI.QUEUED}
    for job in executor.submitted[1:]:
        work(sessions, job, TI.SUCCESS, START + SEC)
    scheduler.tick(START + 2 * SEC)
    assert runs(sessions, "rules")[0].state is DagRunState.SUCCESS  # leaves cleanup, alert ok


def test_branch_skips_the_tasks_it_did_not_choose(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    executor: RecordingExecutor,
) -> None:
    write_dag(
        dags_folder,
        "branchy",
        """
        with DAG('branchy', schedule=None, start_date=datetime(2026, 1, 1)) as dag:
            pick = BranchPythonOperator(task_id='pick', python_callable=lambda: ['left'])
            left, right = EmptyOperator(task_id='left'), EmptyOperator(task_id='right')
            after_right = EmptyOperator(task_id='after_right')
            join = EmptyOperator(task_id='join', trigger_rule='none_failed_min_one_success')
            pick >> [left, right]
            right >> after_right
            [left, after_right] >> join
        """,
    )
    load(sessions, dags_folder)
    _trigger(sessions, "branchy")
    scheduler = make_scheduler()
    scheduler.tick(START)
    (job,) = executor.submitted
    with sessions.begin() as session:
        session.add(XCom(dag_id="branchy", run_id="r", task_id="pick", key=BRANCH_XCOM_KEY,
                         value=["left"]))  # fmt: skip
    work(sessions, job, TI.SUCCESS, START)
    scheduler.tick(START + SEC)
    got = states(sessions, "branchy")
    assert (got["right"], got["after_right"]) == (TI.SKIPPED, TI.SKIPPED)
    assert executor.task_ids == ["pick", "left"]
    work(sessions, executor.submitted[-1], TI.SUCCESS, START + SEC)
    scheduler.tick(START + 2 * SEC)
    assert executor.task_ids[-1] == "join"


def test_priority_order_and_parallelism(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    executor: RecordingExecutor,
) -> None:
    write_dag(
        dags_folder,
        "prio",
        """
        with DAG('prio', schedule=None, start_date=datetime(2026, 1, 1)) as dag:
            EmptyOperator(task_id='low', priority='low', priority_weight=100)
            EmptyOperator(task_id='default_light', priority_weight=1)
            EmptyOperator(task_id='default_heavy', priority_weight=5)
            EmptyOperator(task_id='high', priority='high')
        """,
    )
    load(sessions, dags_folder)
    _trigger(sessions, "prio")
    scheduler = make_scheduler(parallelism=3)
    assert scheduler.tick(START).queued == 3
    assert executor.task_ids == ["high", "default_heavy", "default_light"]
    assert scheduler.tick(START + SEC).queued == 0  # all three slots still held
    work(sessions, executor.submitted[0], TI.SUCCESS, START + SEC)
    scheduler.tick(START + 2 * SEC)
    assert executor.task_ids[-1] == "low"


def test_pools_and_max_active_tasks_hold_tasks_back(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    executor: RecordingExecutor,
) -> None:
    write_dag(
        dags_folder,
        "pooled",
        """
        with DAG('pooled', schedule=None, start_date=datetime(2026, 1, 1)) as dag:
            for n in range(3):
                EmptyOperator(task_id=f'p{n}', pool='small', pool_slots=2)
            EmptyOperator(task_id='ghost', pool='missing')
        """,
    )
    chain_dag(dags_folder, "narrow", tasks="'x'", max_active_tasks="1")
    load(sessions, dags_folder)
    with sessions.begin() as session:
        session.add(Pool(name="small", slots=4))
    _trigger(sessions, "pooled")
    _trigger(sessions, "narrow", "r1")
    _trigger(sessions, "narrow", "r2")
    scheduler = make_scheduler()
    scheduler.tick(START)
    assert sorted(executor.task_ids) == ["p0", "p1", "x"]
    got = states(sessions, "pooled")
    assert (got["p2"], got["ghost"]) == (TI.SCHEDULED, TI.SCHEDULED)
    with sessions.begin() as session:
        session.add(Pool(name="missing", slots=1))
    scheduler.tick(START + SEC)
    assert sorted(executor.task_ids) == ["ghost", "p0", "p1", "x"]


def test_fast_follow_helpers_work_inside_a_callers_transaction(
    sessions: sessionmaker[Session], dags_folder: Path, make_scheduler: Any
) -> None:
    chain_dag(dags_folder, "chain")
    load(sessions, dags_folder)
    _trigger(sessions, "chain")
    with sessions.begin() as session:
        (run,) = runs(sessions, "chain")
        run = session.merge(run)
        dag = load_serialized_dag(session=session, dag_id="chain")
        assert decide_ready(session=session, dag_run=run, dag=dag, task_ids=["b"], now=START) == []
        ready = decide_ready(session=session, dag_run=run, dag=dag, task_ids=["a"], now=START)
        jobs = queue_ready(session=session, waiting=ready, limits=Limits(parallelism=1), now=START)
        assert [(j.task_id, j.try_number) for j in jobs] == [("a", 1)]
    assert states(sessions, "chain") == {"a": TI.QUEUED, "b": TI.NONE, "c": TI.NONE}


def test_task_added_to_the_dag_later_does_not_block_finishing(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    executor: RecordingExecutor,
) -> None:
    chain_dag(dags_folder, "chain", tasks="'a'")
    load(sessions, dags_folder)
    _trigger(sessions, "chain")
    scheduler = make_scheduler()
    scheduler.tick(START)
    chain_dag(dags_folder, "chain", tasks="'a', 'b'")
    load(sessions, dags_folder, START + SEC)
    work(sessions, executor.submitted[0], TI.SUCCESS, START)
    scheduler.tick(START + 2 * SEC)
    assert runs(sessions, "chain")[0].state is DagRunState.SUCCESS
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(XCom)) == 0
