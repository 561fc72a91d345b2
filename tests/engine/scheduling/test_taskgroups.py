"""A DAG with task groups and labels runs in the order its groups' edges give."""

from __future__ import annotations

from datetime import timedelta

from engine.services.dags import load_serialized_dag
from engine.state import DagRunState
from tests.engine.scheduling.conftest import START, TI, Rig, write_dag

SEC = timedelta(seconds=1)


def test_groups_run_after_their_upstream_and_before_their_downstream(rig: Rig) -> None:
    write_dag(
        rig.dags_folder,
        "grouped",
        """
        from engine import TaskGroup, Label, task_group

        @task_group
        def report():
            EmptyOperator(task_id="write")

        with DAG("grouped", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
            start = EmptyOperator(task_id="start")
            with TaskGroup("load") as load:
                a = EmptyOperator(task_id="a")
                a >> [EmptyOperator(task_id="b"), EmptyOperator(task_id="c")]
            start >> Label("then") >> load >> report()
        """,
    )
    rig.load()
    with rig.sessions() as session:
        serialized = load_serialized_dag(session=session, dag_id="grouped")
    assert serialized.tasks["load.b"].task_group_id == "load"
    assert serialized.edge_label("start", "load.a") == "then"
    rig.trigger("grouped")
    scheduler = rig.scheduler()
    waves = [["start"], ["load.a"], ["load.b", "load.c"], ["report.write"]]
    for step, wave in enumerate(waves):
        before = len(rig.executor.submitted)
        report = scheduler.tick(START + step * SEC)
        assert not report.errors
        jobs = rig.executor.submitted[before:]
        assert sorted(job.task_id for job in jobs) == wave
        for job in jobs:
            rig.work(job, TI.SUCCESS, START + step * SEC)
    scheduler.tick(START + 10 * SEC)
    (run,) = rig.runs("grouped")
    assert run.state is DagRunState.SUCCESS
    assert set(rig.states("grouped").values()) == {TI.SUCCESS}
