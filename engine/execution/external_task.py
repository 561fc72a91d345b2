"""ExternalTaskSensor: wait for a task (or a whole run) of another DAG at the same time.

As Airflow's: the other DAG's run is the one whose logical date is this run's, shifted
back by ``execution_delta`` or given by ``execution_date_fn(logical_date, context)``.
With ``external_task_id`` (or ``external_task_ids``, or ``external_task_group_id``) the
sensor waits for those tasks' instances, every map index, to reach ``allowed_states``;
without, for the run itself. A state in ``failed_states`` fails the task, one in
``skipped_states`` skips it; ``check_existence`` fails at once when the DAG or its tasks
do not exist. It pokes in its try (``mode="poke"``), like the other sensors, or with
``deferrable=True`` waits on a :class:`~engine.execution.workflow_triggers.WorkflowTrigger`
in a triggerer.

It reads Loom's metadata database in the worker, so it lives with execution, as
:mod:`engine.execution.trigger_dagrun` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from engine.authoring.operators.sensors.base import BaseSensorOperator
from engine.authoring.signals import FailTask, SkipTask
from engine.authoring.triggers.base import BaseTrigger
from engine.state import DagRunState, TaskInstanceState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SUCCESS, FAILED, SKIPPED = "success", "failed", "skipped"
"""How watched states settled (:func:`outcome_of`): the status of a WorkflowTrigger's event."""

TASK_STATES = {state.value for state in TaskInstanceState}
RUN_STATES = {state.value for state in DagRunState}


def outcome_of(
    states: set[str] | None, *, allowed: set[str], failed: set[str], skipped: set[str]
) -> str | None:
    """``failed``, ``skipped`` or ``success`` once ``states`` settled so; None meanwhile."""
    if states is None:
        return None  # no such run yet
    if states & failed:
        return FAILED
    if states & skipped:
        return SKIPPED
    return SUCCESS if states and states <= allowed else None


def watched_states(
    session: Session,
    *,
    dag_id: str,
    when: datetime,
    task_ids: list[str],
    group_id: str | None,
) -> set[str] | None:
    """The states watched in ``dag_id``'s run at ``when``: its tasks' (every map index;
    ``task_ids`` or the tasks of ``group_id``) or the run's own when neither is given;
    None while there is no such run."""
    import sqlalchemy as sa

    from engine.models import DagRun, TaskInstance

    run = session.scalars(
        sa.select(DagRun).where(DagRun.dag_id == dag_id, DagRun.logical_date == when)
    ).first()
    if run is None:
        return None
    if not (task_ids or group_id):
        return {DagRunState(run.state).value}
    stmt = sa.select(TaskInstance.state).where(TaskInstance.dag_run_id == run.id)
    if group_id:
        stmt = stmt.where(TaskInstance.task_id.startswith(f"{group_id}."))
    else:
        stmt = stmt.where(TaskInstance.task_id.in_(task_ids))
    return {TaskInstanceState(state).value for state in session.scalars(stmt)}


class ExternalTaskSensor(BaseSensorOperator):
    """Wait for ``external_dag_id``'s run (or some of its tasks) at this run's time."""

    can_defer: ClassVar[bool] = True
    template_fields: ClassVar[tuple[str, ...]] = ("external_dag_id", "external_task_id")

    def __init__(
        self,
        task_id: str,
        *,
        external_dag_id: str,
        external_task_id: str | None = None,
        external_task_ids: Iterable[str] | None = None,
        external_task_group_id: str | None = None,
        allowed_states: Iterable[str] | None = None,
        failed_states: Iterable[str] | None = None,
        skipped_states: Iterable[str] | None = None,
        execution_delta: timedelta | None = None,
        execution_date_fn: Callable[..., datetime] | None = None,
        check_existence: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.external_task_ids = list(
            external_task_ids or ([external_task_id] if external_task_id else [])
        )
        self.external_task_group_id = external_task_group_id
        watching_tasks = bool(self.external_task_ids or external_task_group_id)
        known = TASK_STATES if watching_tasks else RUN_STATES
        self.allowed_states = self._states("allowed_states", allowed_states, ["success"], known)
        self.failed_states = self._states("failed_states", failed_states, [], known)
        self.skipped_states = self._states("skipped_states", skipped_states, [], known)
        self.execution_delta = execution_delta
        self.execution_date_fn = execution_date_fn
        self.check_existence = check_existence
        if external_task_id and external_task_ids:
            self.problems.append("give external_task_id or external_task_ids, not both")
        if external_task_group_id and self.external_task_ids:
            self.problems.append("give external_task_group_id or task ids, not both")
        if execution_delta is not None and execution_date_fn is not None:
            self.problems.append("give execution_delta or execution_date_fn, not both")

    def _states(
        self, name: str, given: Iterable[str] | None, default: list[str], known: set[str]
    ) -> set[str]:
        states = {str(state) for state in (default if given is None else given)}
        if unknown := sorted(states - known):
            self.problems.append(
                f"{name}: unknown states {unknown}; expected some of {sorted(known)}"
            )
        return states

    def poke(self, context: Mapping[str, Any]) -> bool:
        from engine.execution.metadata import metadata_session

        with metadata_session() as session:
            if self.check_existence:
                self._check_existence(session)
            states = self._watched_states(session, self._logical_date(context))
        return self._settle(self._outcome(states), states or set())

    def _outcome(self, states: set[str] | None) -> str | None:
        return outcome_of(
            states,
            allowed=self.allowed_states,
            failed=self.failed_states,
            skipped=self.skipped_states,
        )

    def _settle(self, outcome: str | None, states: set[str]) -> bool:
        if outcome == FAILED:
            raise FailTask(self._says("failed", states))
        if outcome == SKIPPED:
            raise SkipTask(self._says("was skipped", states))
        return outcome == SUCCESS

    def trigger_for(self, context: Mapping[str, Any]) -> BaseTrigger:
        from engine.execution.workflow_triggers import WorkflowTrigger

        return WorkflowTrigger(
            external_dag_id=self.external_dag_id,
            logical_date=self._logical_date(context),
            external_task_ids=self.external_task_ids,
            external_task_group_id=self.external_task_group_id,
            allowed_states=sorted(self.allowed_states),
            failed_states=sorted(self.failed_states),
            skipped_states=sorted(self.skipped_states),
            poke_interval=self.poke_interval,
        )

    def execute_complete(self, context: Mapping[str, Any], event: Any = None) -> Any:
        """Resumed by its :class:`WorkflowTrigger`: the watched states settled."""
        event = event or {}
        self._settle(event.get("status"), set(event.get("states", [])))
        return None

    def _check_existence(self, session: Session) -> None:
        from engine.models import Dag
        from engine.services.dags import load_serialized_dag

        row = session.get(Dag, self.external_dag_id)
        if row is None or not row.is_active:
            raise FailTask(f"DAG {self.external_dag_id!r} does not exist")
        tasks = load_serialized_dag(session=session, dag_id=self.external_dag_id).tasks
        missing = [task_id for task_id in self.external_task_ids if task_id not in tasks]
        if missing:
            raise FailTask(f"DAG {self.external_dag_id!r} has no task {', '.join(missing)}")

    def _watched_states(self, session: Session, when: datetime) -> set[str] | None:
        return watched_states(
            session,
            dag_id=self.external_dag_id,
            when=when,
            task_ids=self.external_task_ids,
            group_id=self.external_task_group_id,
        )

    def _logical_date(self, context: Mapping[str, Any]) -> datetime:
        own: datetime = context["logical_date"]
        if self.execution_date_fn is not None:
            return self.execution_date_fn(own, context)
        return own - self.execution_delta if self.execution_delta else own

    def _says(self, what: str, states: set[str]) -> str:
        target = self.external_task_group_id or ", ".join(self.external_task_ids) or "its run"
        return f"DAG {self.external_dag_id!r} ({target}) {what}: {sorted(states)}"
