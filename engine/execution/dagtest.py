"""``loom dags test``: one DAG run, in this process, with no service at all.

It honours dependencies, trigger rules, branching, retries (their delays scaled by
``retry_delay_scale``), rescheduling sensors (it sleeps until their next poke), XCom and
mapped tasks (each instance runs with its own ``map_index`` and element, one after the
other; the instances of a mapped task group's tasks are decided one map index at a
time, as the scheduler does), moving every task
through the same state table the scheduler uses, so a DAG that passes here behaves the
same when scheduled.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.authoring.baseoperator import BaseOperator
from engine.authoring.dag import DAG
from engine.authoring.expansion import expansion_length
from engine.authoring.mappedgroup import MappedTaskGroup
from engine.authoring.mapping import MappedOperator, in_mapped_group
from engine.authoring.params import resolve_params
from engine.authoring.setupteardown_rules import SetupTeardownIndex
from engine.authoring.trigger_rules import (
    READINESS_STATE,
    SETUP_RULES,
    Readiness,
    UpstreamSummary,
    evaluate,
    run_outcome,
    setup_ids,
)
from engine.authoring.triggers.base import TaskDeferralError
from engine.authoring.validation import check_dag, topological_order
from engine.authoring.weights import effective_weights
from engine.authoring.xcomvalues import decode
from engine.execution.attempt import (
    AttemptResult,
    Deferral,
    Outcome,
    failure_result,
    run_attempt,
    run_callbacks,
)
from engine.execution.context import (
    RunInfo,
    TaskInstanceHandle,
    build_context,
    build_dag_context,
)
from engine.execution.inprocess_trigger import run_deferral
from engine.execution.retries import retry_delay_for
from engine.execution.xcoms import RETURN_VALUE, MemoryXComStore
from engine.state import DagRunState, TaskInstanceState, check_task_transition, summary_state
from engine.timeutil import utcnow

TI = TaskInstanceState


@dataclass
class TaskReport:
    """How one task of the test run ended."""

    task_id: str
    state: TaskInstanceState = TI.NONE
    tries: int = 0
    duration: float = 0.0
    error: str | None = None
    map_index: int = -1
    instances: list[TaskReport] = field(default_factory=list)
    """A mapped task's instances, by map index (empty when it is not mapped, or when its
    input was empty)."""
    pokes: int = 0
    """A rescheduling sensor's pokes that found nothing (each ended ``up_for_reschedule``)."""
    first_poke_at: datetime | None = None
    poke_started: datetime | None = None

    @property
    def label(self) -> str:
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


@dataclass
class DagTestReport:
    """How the test run ended."""

    dag_id: str
    run_id: str
    state: DagRunState
    tasks: dict[str, TaskReport] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.state is DagRunState.SUCCESS


class DagTestRun:
    """One in-process run of ``dag``; call :meth:`run` once."""

    def __init__(
        self,
        dag: DAG,
        *,
        conf: Mapping[str, Any] | None = None,
        logical_date: datetime | None = None,
        retry_delay_scale: float = 1.0,
        echo: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        conf_overrides: bool = True,
    ) -> None:
        """``conf_overrides``: ``core.dag_run_conf_overrides_params`` (conf is checked
        either way; false: tasks and DAG callbacks see the params' defaults)."""
        check_dag(dag)
        self.dag = dag
        self._conf_overrides = conf_overrides
        self.params = resolve_params(dag.params, conf, conf_overrides=conf_overrides)
        logical = logical_date or utcnow()
        interval = dag.schedule.infer_manual_data_interval(run_after=logical)
        self.run_info = RunInfo(
            dag_id=dag.dag_id,
            run_id=f"test__{logical.isoformat()}",
            logical_date=logical,
            data_interval_start=interval.start,
            data_interval_end=interval.end,
            conf=dict(conf or {}),
            run_type="test",
        )
        self.retry_delay_scale = retry_delay_scale
        self.echo = echo
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.xcom = MemoryXComStore()
        self.mapped_task_ids = frozenset(
            t.task_id for t in dag.tasks if isinstance(t, MappedOperator) or in_mapped_group(t)
        )
        self.choices: dict[tuple[str, int], set[str]] = {}
        """What each instance of a branch task in a mapped group chose."""
        self.reports = {tid: TaskReport(tid) for tid in topological_order(dag)}
        """Each task's report, in DAG order: the summary lists them so."""
        self.setups_and_teardowns = SetupTeardownIndex(dag.task_dict)

    # -- the run --------------------------------------------------------------------------

    def run(self) -> DagTestReport:
        order = topological_order(self.dag)
        self.weights = effective_weights(self.dag.task_dict)
        while self._advance(order):
            pass
        states = {tid: report.state for tid, report in self.reports.items()}
        leaves = self.setups_and_teardowns.outcome_leaves()
        outcome = run_outcome(states, leaves) or DagRunState.FAILED
        self._run_dag_callbacks(outcome)
        return DagTestReport(self.dag.dag_id, self.run_info.run_id, outcome, self.reports)

    def _advance(self, order: list[str]) -> bool:
        """Decide once every task that was ready when the round began, the heavier first
        (as the scheduler queues them); True when anything moved. A task made ready during
        the round waits for the next one, as in a scheduler loop."""
        moved = False
        waiting = [tid for tid in order if self.reports[tid].state is TI.NONE]
        ready = [t for t in waiting if self._readiness(self.dag.task_dict[t]) is not Readiness.WAIT]
        for task_id in sorted(ready, key=lambda tid: -self.weights[tid]):  # order breaks ties
            task = self.dag.task_dict[task_id]
            readiness = self._readiness(task)
            if readiness is Readiness.WAIT:
                continue
            moved = True
            if readiness is Readiness.RUN or self._expanded_upstream(task):
                self._run_task(task)
            else:
                self._move(task_id, READINESS_STATE[readiness])
                self.echo(f"{task_id}: {self.reports[task_id].state}")
        return moved

    def _readiness(self, task: BaseOperator, map_index: int = -1) -> Readiness:
        """The task's verdict; for instance ``map_index`` of a task of a mapped group, the
        tasks of its group count by their instance of the same index."""
        local = self._group_ids(task) if map_index >= 0 else frozenset()
        inputs = task.upstream_task_ids | self.setups_and_teardowns.indirect_setups(task.task_id)
        states = {tid: self._state(tid, map_index if tid in local else -1) for tid in inputs}
        for up in task.upstream_task_ids & local:
            chosen = self.choices.get((up, map_index))
            if chosen is not None and task.task_id not in chosen:
                return Readiness.SKIP
        by_setups = self.setups_and_teardowns.verdict(task.task_id, states)
        if by_setups is not None:
            return by_setups
        ups = task.upstream_task_ids
        setups = setup_ids(self.dag.task_dict, ups) if task.trigger_rule in SETUP_RULES else ()
        upstream = UpstreamSummary.of((states[u] for u in ups), (states[u] for u in setups))
        return evaluate(task.trigger_rule, upstream)

    def _expanded_upstream(self, task: BaseOperator) -> bool:
        """Whether a task of ``task``'s mapped group upstream of it has instances: then
        each of its own instances is decided by its index (as the scheduler does)."""
        local = task.upstream_task_ids & self._group_ids(task)
        return any(self.reports[up].instances for up in local)

    def _state(self, task_id: str, map_index: int) -> TaskInstanceState:
        report = self.reports[task_id]
        if map_index >= 0 and len(report.instances) > map_index:
            return report.instances[map_index].state
        return report.state

    def _group_ids(self, task: BaseOperator) -> frozenset[str]:
        """The tasks of the mapped group ``task`` is in (none when it is in none)."""
        group = task.task_group.closest_mapped_group() if task.task_group else None
        if group is None:
            return frozenset()
        return frozenset(t.task_id for t in group.iter_tasks())

    def _move(self, task_id: str, new: TaskInstanceState) -> None:
        self._step(self.reports[task_id], new)

    @staticmethod
    def _step(report: TaskReport, new: TaskInstanceState) -> None:
        check_task_transition(report.state, new)
        report.state = new

    # -- one task, with its retries --------------------------------------------------------

    def _run_task(self, task: BaseOperator) -> None:
        if isinstance(task, MappedOperator):
            self._run_mapped(task)
        elif in_mapped_group(task):
            self._run_in_group(task)
        else:
            self._run_tries(task, self.reports[task.task_id])

    def _run_mapped(self, task: MappedOperator) -> None:
        """Expand as the scheduler would, then run each instance in map index order."""
        instances = self._expand(task, task.expand_input, "mapped over")
        for instance in instances:
            self._run_tries(task, instance)
        if instances:
            self._sum_up(self.reports[task.task_id])

    def _run_in_group(self, task: BaseOperator) -> None:
        """Each instance of a mapped group's task, decided by its own map index."""
        group = task.task_group.closest_mapped_group() if task.task_group else None
        assert isinstance(group, MappedTaskGroup)  # the caller checked in_mapped_group(task)
        instances = self._expand(task, group.expand_input, "its group maps over")
        for instance in instances:
            verdict = self._readiness(task, instance.map_index)
            if verdict is Readiness.RUN:
                self._run_tries(task, instance)
            else:
                self._step(instance, READINESS_STATE.get(verdict, TI.UPSTREAM_FAILED))
                self.echo(f"{instance.label}: {instance.state}")
        if instances:
            self._sum_up(self.reports[task.task_id])

    def _expand(self, task: BaseOperator, expand_input: Any, how: str) -> list[TaskReport]:
        """The task's instances over ``expand_input``, as the scheduler expands them; none
        when the input is empty (the task is skipped) or unknown (``upstream_failed``)."""
        report = self.reports[task.task_id]
        length = expansion_length(expand_input.serialize(), self._length_of)
        if not length:
            self._move(task.task_id, TI.UPSTREAM_FAILED if length is None else TI.SKIPPED)
            self.echo(f"{task.task_id}: {report.state} ({how} {length} items)")
            return []
        report.instances = [TaskReport(task.task_id, map_index=i) for i in range(length)]
        return report.instances

    def _sum_up(self, report: TaskReport) -> None:
        report.state = summary_state(i.state for i in report.instances)
        report.tries = sum(i.tries for i in report.instances)
        report.duration = sum(i.duration for i in report.instances)
        report.error = next((i.error for i in report.instances if i.error), None)

    def _length_of(self, task_id: str) -> int | None:
        """The length of an upstream's return value (a mapped one's: its instances')."""
        run_id = self.run_info.run_id
        if task_id in self.mapped_task_ids:
            return len(self.xcom.get_mapped(self.dag.dag_id, run_id, task_id, RETURN_VALUE))
        value = decode(self.xcom.get(self.dag.dag_id, run_id, task_id, RETURN_VALUE))
        return len(value) if isinstance(value, list | tuple | dict) else None

    def _run_tries(self, task: BaseOperator, report: TaskReport) -> None:
        max_tries = task.retries + 1
        while True:
            for state in (TI.SCHEDULED, TI.QUEUED, TI.RUNNING):
                self._step(report, state)
            report.tries += 1
            result, context = self._attempt(task, report, max_tries)
            while result.outcome in (Outcome.RESCHEDULED, Outcome.DEFERRED):
                if result.outcome is Outcome.RESCHEDULED:  # pokes of the same try
                    self._wait_for_poke(report, result)
                    result, context = self._attempt(task, report, max_tries)
                elif result.deferral is not None:
                    started = time.monotonic()
                    result = self._resume(task, report, context, result.deferral)
                    report.duration += time.monotonic() - started
                else:
                    break
            if not self._settle(task, report, result, context, max_tries):
                return
            self._wait_for_retry(task, report.tries)

    def _attempt(
        self, task: BaseOperator, report: TaskReport, max_tries: int
    ) -> tuple[AttemptResult, dict[str, Any]]:
        context = self._context(task, report, max_tries)
        report.poke_started = utcnow()
        started = time.monotonic()
        result = run_attempt(task, context)
        report.duration += time.monotonic() - started
        return result, context

    def _wait_for_poke(self, report: TaskReport, result: AttemptResult) -> None:
        """A sensor's poke found nothing: wait ``up_for_reschedule`` until its next poke
        (a real sleep: the sensor's timeout counts on the clock), then run it again."""
        self._step(report, TI.UP_FOR_RESCHEDULE)
        report.pokes += 1
        report.first_poke_at = report.first_poke_at or report.poke_started
        due = result.reschedule_date or utcnow()
        self.echo(f"{report.label}: up_for_reschedule (next poke at {due.isoformat()})")
        self.sleep(max((due - utcnow()).total_seconds(), 0.0))
        for state in (TI.SCHEDULED, TI.QUEUED, TI.RUNNING):
            self._step(report, state)

    def _resume(
        self, task: BaseOperator, report: TaskReport, context: dict[str, Any], deferral: Deferral
    ) -> AttemptResult:
        """Wait for the deferral's trigger here, then go on in the method it named."""
        self._step(report, TI.DEFERRED)
        self.echo(f"{report.label}: deferred on {deferral.classpath}")
        try:
            resume = run_deferral(deferral)
        except TaskDeferralError as exc:  # the try fails from deferred, as on a triggerer
            return failure_result(exc)
        for state in (TI.SCHEDULED, TI.QUEUED, TI.RUNNING):
            self._step(report, state)
        return run_attempt(task, context, resume=resume)

    def _settle(
        self,
        task: BaseOperator,
        report: TaskReport,
        result: AttemptResult,
        context: dict[str, Any],
        max_tries: int,
    ) -> bool:
        """Record the attempt's outcome; True when the task is up for another try."""
        if result.outcome is Outcome.SUCCESS:
            self._step(report, TI.SUCCESS)
            self.echo(f"{report.label}: success (try {report.tries}/{max_tries})")
            if report.map_index >= 0 and result.follow is not None:
                self.choices[(task.task_id, report.map_index)] = set(result.follow)
            else:
                self._skip_unfollowed(task, result.follow)
            self._skip_asked(task, result.skip)
            run_callbacks(task.on_success_callback, context, kind="on_success")
            return False
        if result.outcome is Outcome.SKIPPED:
            self._step(report, TI.SKIPPED)
            self.echo(f"{report.label}: skipped ({result.error_message or 'by the task'})")
            run_callbacks(task.on_skipped_callback, context, kind="on_skipped")
            return False
        report.error = f"{result.error_type}: {result.error_message}"
        context["exception"] = report.error
        if result.retryable and report.tries < max_tries:
            self._step(report, TI.UP_FOR_RETRY)
            run_callbacks(task.on_retry_callback, context, kind="on_retry")
            self.echo(
                f"{report.label}: up_for_retry (try {report.tries}/{max_tries}) {report.error}"
            )
            return True
        self._step(report, TI.FAILED)
        run_callbacks(task.on_failure_callback, context, kind="on_failure")
        self.echo(f"{report.label}: failed (try {report.tries}/{max_tries}) {report.error}")
        if result.traceback:
            self.echo(result.traceback.rstrip())
        return False

    def _wait_for_retry(self, task: BaseOperator, try_number: int) -> None:
        delay = retry_delay_for(
            try_number,
            retry_delay=task.retry_delay,
            exponential=task.retry_exponential_backoff,
            max_retry_delay=task.max_retry_delay,
            rng=self.rng,
        )
        seconds = delay.total_seconds() * self.retry_delay_scale
        if seconds > 0:
            self.echo(f"{task.task_id}: next try in {seconds:.1f}s")
            self.sleep(seconds)

    def _skip_unfollowed(self, task: BaseOperator, follow: list[str] | None) -> None:
        if follow is None:
            return
        for task_id in sorted(task.downstream_task_ids - set(follow)):
            if self.reports[task_id].state is TI.NONE:
                self._move(task_id, TI.SKIPPED)
                self.echo(f"{task_id}: skipped (not chosen by branch {task.task_id!r})")

    def _skip_asked(self, task: BaseOperator, task_ids: tuple[str, ...]) -> None:
        for task_id in task_ids:
            if self.reports[task_id].state is TI.NONE:
                self._move(task_id, TI.SKIPPED)
                self.echo(f"{task_id}: skipped (short-circuited by {task.task_id!r})")

    def _context(self, task: BaseOperator, report: TaskReport, max_tries: int) -> dict[str, Any]:
        handle = TaskInstanceHandle(
            dag_id=self.dag.dag_id,
            run_id=self.run_info.run_id,
            task_id=task.task_id,
            try_number=report.tries,
            max_tries=max_tries,
            xcom=self.xcom,
            map_index=report.map_index,
            mapped_task_ids=self.mapped_task_ids,
            group_task_ids=self._group_ids(task),
            first_poke_at=report.first_poke_at,
            poke_count=report.pokes,
        )
        params = self.params
        if task.params:  # the task's own params over the DAG's
            params = resolve_params(
                {**self.dag.params, **task.params},
                self.run_info.conf,
                conf_overrides=self._conf_overrides,
            )
        return build_context(dag=self.dag, task=task, run=self.run_info, ti=handle, params=params)

    def _run_dag_callbacks(self, outcome: DagRunState) -> None:
        callbacks = (
            self.dag.on_success_callback
            if outcome is DagRunState.SUCCESS
            else self.dag.on_failure_callback
        )
        reason = "success" if outcome is DagRunState.SUCCESS else "task_failure"
        context = build_dag_context(
            dag=self.dag, run=self.run_info, params=self.params, reason=reason
        )
        run_callbacks(callbacks, context, kind=f"dag on_{outcome.value}")
