"""Finishing: a run ends ``success`` or ``failed`` once none of its tasks can still run;
what follows its end (alerts, DAG callbacks, a pause after failures) is written with it
(:mod:`engine.scheduling.runend`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.authoring.trigger_rules import run_outcome
from engine.models import DagRun
from engine.models.transitions import set_run_state
from engine.scheduling.failfast import failed_by_fail_fast
from engine.scheduling.runend import run_finished
from engine.state import DagRunState, TaskInstanceState

logger = logging.getLogger(__name__)


def finish_run_if_done(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    states: Mapping[str, TaskInstanceState],
    now: datetime,
    max_failed_runs: int,
) -> DagRunState | None:
    """Set the run's final state (with its end date) when all its tasks have finished.

    ``states`` are the run's instance states by task id, as the caller just read them.
    Returns the state it finished in, or None while a task may still run (or when
    another process finished it first). ``max_failed_runs`` is the configured
    ``core.max_consecutive_failed_dag_runs_per_dag``.
    """
    # The work tasks decide: a teardown only with on_failure_fail_dagrun.
    leaves = [leaf for leaf in dag.setups_and_teardowns.outcome_leaves() if leaf in states]
    outcome = run_outcome(states, leaves)
    if outcome is None:
        return None
    if failed_by_fail_fast(dag, states):
        outcome = DagRunState.FAILED  # its skipped leaves must not make it a success
    won = set_run_state(
        session=session,
        run_id_pk=dag_run.id,
        expected=DagRunState.RUNNING,
        new=outcome,
        end_date=now,
    )
    if not won:
        return None
    run_finished(session=session, dag_run=dag_run, dag=dag, state=outcome, now=now,
                 max_failed_runs=max_failed_runs)  # fmt: skip
    return outcome
