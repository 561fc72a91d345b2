"""Setup and teardown at run time: when a teardown runs, which tasks decide a run's
outcome, and what clearing a task also clears. Semantics follow Airflow 3's.

One pure index over a DAG's tasks serves the scheduler (over the serialized DAG) and
``loom dags test`` (over the DAG itself), so the two can never disagree:

- a teardown waits for all its direct upstream tasks, then runs when at least one of its
  setups succeeded, even if work failed; all its setups skipped → skipped; none
  succeeded → upstream_failed; no setup upstream → like ``all_done``;
- a work task also needs its *relevant indirect* setups (setups further upstream whose
  teardown is downstream of it, or that have no teardown) to have succeeded;
- a run's outcome comes from its work tasks: a teardown counts only with
  ``on_failure_fail_dagrun=True``;
- clearing a task clears its relevant setups and their teardowns; clearing a setup
  clears its teardowns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from engine.authoring.nodes import TaskNode, reachable
from engine.authoring.trigger_rules import Readiness, TriggerRule
from engine.state import FAILED_STATES, FINISHED, TaskInstanceState

TI = TaskInstanceState


class SetupTeardownTask(TaskNode, Protocol):
    """What these rules read of a task: a ``BaseOperator`` and a ``SerializedTask`` both fit."""

    @property
    def trigger_rule(self) -> TriggerRule: ...
    @property
    def is_setup(self) -> bool: ...
    @property
    def is_teardown(self) -> bool: ...
    @property
    def on_failure_fail_dagrun(self) -> bool: ...


class SetupTeardownIndex:
    """Setup and teardown rules over one DAG's tasks; build it once per DAG."""

    def __init__(self, tasks: Mapping[str, SetupTeardownTask]) -> None:
        self.tasks = tasks
        self.has_setups = any(task.is_setup for task in tasks.values())
        self._relevant: dict[str, frozenset[str]] = {}

    # -- readiness ------------------------------------------------------------------------

    def verdict(self, task_id: str, states: Mapping[str, TaskInstanceState]) -> Readiness | None:
        """What setups decide for ``task_id`` now, or None when its own trigger rule decides.

        ``states`` must hold the task's direct upstream tasks and :meth:`indirect_setups`.
        """
        task = self.tasks[task_id]
        if task.trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS:
            return self._teardown_verdict(task, states)
        if not self.has_setups or task.is_teardown:
            return None
        return _all_succeeded([states.get(s) for s in self.indirect_setups(task_id)])

    def _teardown_verdict(
        self, task: SetupTeardownTask, states: Mapping[str, TaskInstanceState]
    ) -> Readiness:
        upstream = [up for up in task.upstream_task_ids if up in states]
        if any(states[up] not in FINISHED for up in upstream):
            return Readiness.WAIT
        setups = [states[up] for up in upstream if self.tasks[up].is_setup]
        if not setups or TI.SUCCESS in setups:
            return Readiness.RUN
        if all(state is TI.SKIPPED for state in setups):
            return Readiness.SKIP
        return Readiness.UPSTREAM_FAILED

    def indirect_setups(self, task_id: str) -> frozenset[str]:
        """The relevant setups of a work task that are not its direct upstream tasks."""
        if not self.has_setups or self.tasks[task_id].is_teardown:
            return frozenset()
        return self.relevant_setups(task_id) - set(self.tasks[task_id].upstream_task_ids)

    def relevant_setups(self, task_id: str) -> frozenset[str]:
        """Setups upstream of ``task_id`` whose teardown is downstream of it, or that have
        no teardown at all: the setups the task works within."""
        if task_id not in self._relevant:
            below = reachable(self.tasks, [task_id], downstream=True)
            self._relevant[task_id] = frozenset(
                setup
                for setup in reachable(self.tasks, [task_id], downstream=False)
                if self.tasks[setup].is_setup
                and (not self.teardowns_of(setup) or self.teardowns_of(setup) & below)
            )
        return self._relevant[task_id]

    def teardowns_of(self, setup_id: str) -> set[str]:
        """The teardowns paired with a setup: its direct downstream teardowns."""
        down = self.tasks[setup_id].downstream_task_ids
        return {task_id for task_id in down if self.tasks[task_id].is_teardown}

    # -- a run's outcome ------------------------------------------------------------------

    def outcome_leaves(self) -> list[str]:
        """The tasks whose states decide the run: every task that is not an ignorable
        teardown and has nothing but ignorable teardowns downstream (a teardown is
        ignorable unless ``on_failure_fail_dagrun``). A DAG of teardowns only falls back
        to its plain leaves."""

        def ignorable(task_id: str) -> bool:
            task = self.tasks[task_id]
            return task.is_teardown and not task.on_failure_fail_dagrun

        leaves = [
            task_id
            for task_id, task in self.tasks.items()
            if not ignorable(task_id) and all(ignorable(d) for d in task.downstream_task_ids)
        ]
        return leaves or [t for t, task in self.tasks.items() if not task.downstream_task_ids]

    # -- clearing -------------------------------------------------------------------------

    def clear_with(self, task_ids: Iterable[str]) -> set[str]:
        """``task_ids`` with the setups and teardowns that clearing them also clears."""
        wanted = set(task_ids)
        if not self.has_setups:
            return wanted
        for task_id in list(wanted):
            setups = set(self.relevant_setups(task_id))
            if self.tasks[task_id].is_setup:
                setups.add(task_id)
            for setup in setups:
                wanted.add(setup)
                wanted |= self.teardowns_of(setup)
        return wanted


def _all_succeeded(states: list[TaskInstanceState | None]) -> Readiness | None:
    """Indirect setups: any failed → upstream_failed; any skipped → skipped; any still
    to finish → wait; all succeeded → None (the task's own rule decides)."""
    if any(state in FAILED_STATES for state in states):
        return Readiness.UPSTREAM_FAILED
    if any(state is TI.SKIPPED for state in states):
        return Readiness.SKIP
    if any(state is not TI.SUCCESS for state in states):
        return Readiness.WAIT
    return None
