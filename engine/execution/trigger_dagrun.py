"""TriggerDagRunOperator: start a run of another DAG, and optionally wait for its end.

As Airflow 3's: the run is a manual run of ``trigger_dag_id`` with ``conf`` (templated, as
are the DAG id, run id and logical date); its run id is pushed as the XCom
``trigger_run_id``. ``wait_for_completion`` polls the run every ``poke_interval`` seconds
in this try (with ``deferrable=True``, in a triggerer, on a :class:`DagStateTrigger`): a
state in ``allowed_states`` succeeds, one in ``failed_states`` fails the task. A run id
that exists already fails the task, unless ``skip_when_already_exists`` (skipped) or
``reset_dag_run`` (the run is cleared and runs again) says otherwise.

The run is created through the same service as ``loom dags trigger``, in the worker's
metadata database (the scheduler never runs this): so this operator lives with execution,
not with the authoring API, which reaches no other room. Differences from Airflow are in
docs/decisions.md: a paused target DAG is an error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from engine.authoring.baseoperator import BaseOperator
from engine.authoring.signals import FailTask, SkipTask
from engine.state import DagRunState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

TRIGGER_RUN_ID_KEY = "trigger_run_id"
"""The XCom key of the triggered run's id (Airflow's)."""


class TriggerDagRunOperator(BaseOperator):
    """Trigger a run of ``trigger_dag_id`` (see the module docstring)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "trigger_dag_id",
        "trigger_run_id",
        "logical_date",
        "conf",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"conf": "json"}

    def __init__(
        self,
        task_id: str,
        *,
        trigger_dag_id: str,
        trigger_run_id: str | None = None,
        conf: Mapping[str, Any] | None = None,
        logical_date: str | datetime | None = None,
        reset_dag_run: bool = False,
        wait_for_completion: bool = False,
        poke_interval: float = 60,
        allowed_states: Iterable[str] | None = None,
        failed_states: Iterable[str] | None = None,
        skip_when_already_exists: bool = False,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.deferrable = bool(deferrable)
        self.trigger_dag_id = trigger_dag_id
        self.trigger_run_id = trigger_run_id
        self.conf = dict(conf) if conf is not None else {}
        self.logical_date = logical_date
        self.reset_dag_run = reset_dag_run
        self.wait_for_completion = wait_for_completion
        self.poke_interval = poke_interval
        self.allowed_states = self._states("allowed_states", allowed_states, DagRunState.SUCCESS)
        self.failed_states = self._states("failed_states", failed_states, DagRunState.FAILED)
        self.skip_when_already_exists = skip_when_already_exists
        if not isinstance(trigger_dag_id, str) or not trigger_dag_id:
            self.problems.append(f"trigger_dag_id must be a DAG id, got {trigger_dag_id!r}")
        if not isinstance(poke_interval, int | float) or poke_interval <= 0:
            self.problems.append(f"poke_interval must be a positive number, got {poke_interval!r}")

    def _states(self, name: str, given: Iterable[str] | None, default: str) -> set[str]:
        states = {str(state) for state in (given if given is not None else [default])}
        unknown = sorted(states - {state.value for state in DagRunState})
        if unknown:
            self.problems.append(
                f"{name}: unknown DAG run states {unknown}; "
                f"expected some of {', '.join(state.value for state in DagRunState)}"
            )
        return states

    def execute(self, context: Mapping[str, Any]) -> str:
        run_id = self._trigger(context)
        context["ti"].xcom_push(TRIGGER_RUN_ID_KEY, run_id)
        if self.wait_for_completion and self.deferrable:
            self._defer(run_id)
        if self.wait_for_completion:
            self._wait(run_id)
        return run_id

    def _defer(self, run_id: str) -> None:
        from engine.execution.workflow_triggers import DagStateTrigger

        states = sorted(self.allowed_states | self.failed_states)
        trigger = DagStateTrigger(
            dag_id=self.trigger_dag_id, run_id=run_id, states=states,
            poll_interval=self.poke_interval,
        )  # fmt: skip
        self.defer(trigger=trigger, method_name="execute_complete", kwargs={"run_id": run_id})

    def execute_complete(self, context: Mapping[str, Any], run_id: str, event: Any = None) -> str:
        """Resumed by its :class:`DagStateTrigger`: the triggered run ended."""
        state = (event or {}).get("state")
        if state in self.failed_states:
            raise FailTask(f"DAG {self.trigger_dag_id!r} run {run_id!r} ended {state}")
        logger.info("DAG %s run %s is %s", self.trigger_dag_id, run_id, state)
        return run_id

    def _trigger(self, context: Mapping[str, Any]) -> str:
        from engine.errors import LoomError
        from engine.execution.metadata import metadata_session, run_state
        from engine.services.runs import trigger_dag
        from engine.timeutil import utcnow

        if self.trigger_run_id is not None and run_state(self.trigger_dag_id, self.trigger_run_id):
            return self._existing(self.trigger_run_id)
        triggered_by = f"{context['dag_run'].dag_id}.{context['dag_run'].run_id}.{self.task_id}"
        try:
            with metadata_session(write=True) as session:
                _refuse_paused_target(session, self.trigger_dag_id)
                run = trigger_dag(
                    session=session, dag_id=self.trigger_dag_id, conf=self.conf,
                    run_id=self.trigger_run_id, logical_date=self._logical_date(),
                    now=utcnow(), triggered_by=triggered_by,
                )  # fmt: skip
                run_id = run.run_id
        except LoomError as exc:  # unknown or paused DAG, conf that does not fit its params
            raise FailTask(f"cannot trigger DAG {self.trigger_dag_id!r}: {exc}") from None
        logger.info("triggered DAG %s: run %s", self.trigger_dag_id, run_id)
        return run_id

    def _existing(self, run_id: str) -> str:
        if self.skip_when_already_exists:
            raise SkipTask(f"DAG {self.trigger_dag_id!r} already has run {run_id!r}")
        if not self.reset_dag_run:
            raise FailTask(
                f"DAG {self.trigger_dag_id!r} already has run {run_id!r} "
                "(reset_dag_run=True clears it and runs it again)"
            )
        from engine.execution.metadata import metadata_session
        from engine.services.taskchanges import clear_task_instances
        from engine.timeutil import utcnow

        with metadata_session(write=True) as session:
            clear_task_instances(
                session=session, dag_id=self.trigger_dag_id, run_id=run_id, now=utcnow()
            )
        logger.info("cleared run %s of DAG %s to run it again", run_id, self.trigger_dag_id)
        return run_id

    def _logical_date(self) -> datetime | None:
        if self.logical_date is None or isinstance(self.logical_date, datetime):
            return self.logical_date
        from engine.timeutil import ensure_aware

        try:
            return ensure_aware(datetime.fromisoformat(str(self.logical_date)))
        except ValueError:
            raise FailTask(
                f"logical_date {self.logical_date!r} is not an ISO 8601 date and time"
            ) from None

    def _wait(self, run_id: str) -> None:
        from engine.execution.metadata import run_state

        while True:
            state = run_state(self.trigger_dag_id, run_id)
            if state in self.failed_states:
                raise FailTask(f"DAG {self.trigger_dag_id!r} run {run_id!r} ended {state}")
            if state in self.allowed_states:
                logger.info("DAG %s run %s is %s", self.trigger_dag_id, run_id, state)
                return
            logger.info("waiting for DAG %s run %s (now %s)", self.trigger_dag_id, run_id, state)
            time.sleep(self.poke_interval)


def _refuse_paused_target(session: Session, dag_id: str) -> None:
    """A paused target fails the task (docs/decisions.md): from a task, a run that would
    wait unseen behind the pause is worse than a clear error, although ``loom dags
    trigger``, the API and the UI create such runs, as Airflow does."""
    from engine.errors import ConflictError
    from engine.models import Dag

    target = session.get(Dag, dag_id)
    if target is not None and target.is_paused:
        raise ConflictError(f"DAG {dag_id!r} is paused; unpause it to trigger runs")
