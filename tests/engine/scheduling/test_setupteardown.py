"""Setup and teardown under the scheduler: a teardown runs after failed work, its failure
does not fail the run unless asked, a skipped setup skips it, clearing brings setups back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.scheduling.scheduler import Scheduler
from engine.services.taskchanges import clear_task_instance
from engine.state import DagRunState
from tests.engine.scheduling.conftest import START, TI, Rig

SEC = timedelta(seconds=1)


def _drive(rig: Rig, scheduler: Scheduler, outcomes: dict[str, TI]) -> dict[str, TI]:
    """Tick until nothing is queued; each queued task ends as ``outcomes`` says (success)."""
    done = len(rig.executor.submitted)
    for step in range(10):
        now = START + step * SEC
        scheduler.tick(now)
        for job in rig.executor.submitted[done:]:
            rig.work(job, outcomes.get(job.task_id, TI.SUCCESS), now)
        if done == len(rig.executor.submitted):
            break
        done = len(rig.executor.submitted)
    return rig.states("paired")


@pytest.fixture
def paired_run(rig: Rig, request: pytest.FixtureRequest) -> None:
    fail_dagrun = getattr(request, "param", False)
    rig.manual_dag(
        "paired",
        f"""
        s = EmptyOperator(task_id='s')
        w = EmptyOperator(task_id='w')
        t = EmptyOperator(task_id='t')
        s >> w >> t.as_teardown(setups=s, on_failure_fail_dagrun={fail_dagrun})
        """,
    )
    rig.load()
    rig.trigger("paired")


def _run_state(rig: Rig) -> DagRunState:
    return rig.runs("paired")[0].state


@pytest.mark.usefixtures("paired_run")
def test_failed_work_still_runs_the_teardown_and_fails_the_run(rig: Rig) -> None:
    got = _drive(rig, rig.scheduler(), {"w": TI.FAILED})
    assert got == {"s": TI.SUCCESS, "w": TI.FAILED, "t": TI.SUCCESS}
    assert rig.executor.task_ids == ["s", "w", "t"]
    assert _run_state(rig) is DagRunState.FAILED


@pytest.mark.parametrize(
    ("paired_run", "expected"),
    [(False, DagRunState.SUCCESS), (True, DagRunState.FAILED)],
    indirect=["paired_run"],
    ids=["teardown-ignored", "on_failure_fail_dagrun"],
)
@pytest.mark.usefixtures("paired_run")
def test_a_failed_teardown_fails_the_run_only_when_asked(rig: Rig, expected: DagRunState) -> None:
    got = _drive(rig, rig.scheduler(), {"t": TI.FAILED})
    assert got == {"s": TI.SUCCESS, "w": TI.SUCCESS, "t": TI.FAILED}
    assert _run_state(rig) is expected


@pytest.mark.usefixtures("paired_run")
def test_a_skipped_setup_skips_its_work_and_teardown(rig: Rig) -> None:
    got = _drive(rig, rig.scheduler(), {"s": TI.SKIPPED})
    assert got == {"s": TI.SKIPPED, "w": TI.SKIPPED, "t": TI.SKIPPED}
    assert rig.executor.task_ids == ["s"]
    assert _run_state(rig) is DagRunState.SUCCESS


@pytest.mark.usefixtures("paired_run")
def test_clearing_work_clears_its_setup_and_teardown_and_reruns_them(rig: Rig) -> None:
    scheduler = rig.scheduler()
    _drive(rig, scheduler, {"w": TI.FAILED})
    with rig.sessions.begin() as session:
        cleared = clear_task_instance(
            session=session, dag_id="paired", run_id="r", task_id="w", downstream=False,
            now=START + 20 * SEC,
        )  # fmt: skip
        assert sorted(ti.task_id for ti in cleared) == ["s", "t", "w"]
    got = _drive(rig, scheduler, {})
    assert got == {"s": TI.SUCCESS, "w": TI.SUCCESS, "t": TI.SUCCESS}
    assert rig.executor.task_ids == ["s", "w", "t", "s", "w", "t"]
    assert _run_state(rig) is DagRunState.SUCCESS
