"""Finishing: a run ends ``success`` or ``failed`` once none of its tasks can still run,
and the ``dag_run.failed`` (or, when asked, ``dag_run.succeeded``) alert is written with it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.authoring.trigger_rules import run_outcome
from engine.delivery.notifications import emit
from engine.models import DagRun
from engine.models.transitions import set_run_state
from engine.state import DagRunState, TaskInstanceState

logger = logging.getLogger(__name__)


def finish_run_if_done(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    states: Mapping[str, TaskInstanceState],
    now: datetime,
) -> DagRunState | None:
    """Set the run's final state (with its end date) when all its tasks have finished.

    ``states`` are the run's instance states by task id, as the caller just read them.
    Returns the state it finished in, or None while a task may still run (or when
    another process finished it first).
    """
    # The work tasks decide: a teardown only with on_failure_fail_dagrun.
    leaves = [leaf for leaf in dag.setups_and_teardowns.outcome_leaves() if leaf in states]
    outcome = run_outcome(states, leaves)
    if outcome is None:
        return None
    won = set_run_state(
        session=session,
        run_id_pk=dag_run.id,
        expected=DagRunState.RUNNING,
        new=outcome,
        end_date=now,
    )
    if not won:
        return None
    emit.dag_run_finished(session=session, dag_run=dag_run, dag=dag, state=outcome, now=now)
    return outcome
