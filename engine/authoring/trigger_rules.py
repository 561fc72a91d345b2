"""Trigger rules: when a task may run, given the states of its upstream tasks.

One pure function serves the scheduler, the workers' fast-follow and ``loom dags test``,
so the three can never disagree about readiness. Semantics follow Airflow's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from engine.state import FAILED_STATES, FINISHED, DagRunState, TaskInstanceState


class TriggerRule(StrEnum):
    """The condition on upstream states under which a task runs."""

    ALL_SUCCESS = "all_success"
    ALL_FAILED = "all_failed"
    ALL_DONE = "all_done"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    NONE_FAILED = "none_failed"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    NONE_SKIPPED = "none_skipped"
    ALWAYS = "always"
    ALL_DONE_SETUP_SUCCESS = "all_done_setup_success"


class Readiness(StrEnum):
    """What the trigger rule decides for a task that has not started yet."""

    WAIT = "wait"
    RUN = "run"
    SKIP = "skip"
    UPSTREAM_FAILED = "upstream_failed"


@dataclass(frozen=True)
class UpstreamSummary:
    """Counts of upstream task states: all a trigger rule needs to know."""

    total: int
    success: int
    skipped: int
    failed: int
    done: int

    @classmethod
    def of(cls, states: Iterable[TaskInstanceState]) -> UpstreamSummary:
        states = list(states)
        return cls(
            total=len(states),
            success=sum(s is TaskInstanceState.SUCCESS for s in states),
            skipped=sum(s is TaskInstanceState.SKIPPED for s in states),
            failed=sum(s in FAILED_STATES for s in states),
            done=sum(s in FINISHED for s in states),
        )

    @property
    def all_done(self) -> bool:
        return self.done == self.total


def evaluate(rule: TriggerRule, upstream: UpstreamSummary) -> Readiness:
    """Decide whether a task with ``rule`` runs, waits, is skipped or fails upstream."""
    if rule is TriggerRule.ALWAYS or upstream.total == 0:
        return Readiness.RUN
    return _RULES[rule](upstream)


def _all_success(u: UpstreamSummary) -> Readiness:
    if u.failed:
        return Readiness.UPSTREAM_FAILED
    if u.skipped:
        return Readiness.SKIP
    return Readiness.RUN if u.success == u.total else Readiness.WAIT


def _all_failed(u: UpstreamSummary) -> Readiness:
    if u.success or u.skipped:
        return Readiness.SKIP
    return Readiness.RUN if u.failed == u.total else Readiness.WAIT


def _all_done(u: UpstreamSummary) -> Readiness:
    return Readiness.RUN if u.all_done else Readiness.WAIT


def _one_success(u: UpstreamSummary) -> Readiness:
    if u.success:
        return Readiness.RUN
    if not u.all_done:
        return Readiness.WAIT
    return Readiness.UPSTREAM_FAILED if u.failed else Readiness.SKIP


def _one_failed(u: UpstreamSummary) -> Readiness:
    if u.failed:
        return Readiness.RUN
    return Readiness.SKIP if u.all_done else Readiness.WAIT


def _none_failed(u: UpstreamSummary) -> Readiness:
    if u.failed:
        return Readiness.UPSTREAM_FAILED
    return Readiness.RUN if u.all_done else Readiness.WAIT


def _none_failed_min_one_success(u: UpstreamSummary) -> Readiness:
    if u.failed:
        return Readiness.UPSTREAM_FAILED
    if not u.all_done:
        return Readiness.WAIT
    return Readiness.RUN if u.success else Readiness.SKIP


def _none_skipped(u: UpstreamSummary) -> Readiness:
    if u.skipped:
        return Readiness.SKIP
    return Readiness.RUN if u.all_done else Readiness.WAIT


_RULES = {
    TriggerRule.ALL_SUCCESS: _all_success,
    TriggerRule.ALL_FAILED: _all_failed,
    TriggerRule.ALL_DONE: _all_done,
    TriggerRule.ONE_SUCCESS: _one_success,
    TriggerRule.ONE_FAILED: _one_failed,
    TriggerRule.NONE_FAILED: _none_failed,
    TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS: _none_failed_min_one_success,
    TriggerRule.NONE_SKIPPED: _none_skipped,
    # Without knowing which upstream tasks are setups, a teardown's rule is all_done;
    # engine.authoring.setupteardown_rules decides it with them.
    TriggerRule.ALL_DONE_SETUP_SUCCESS: _all_done,
}

READINESS_STATE = {
    Readiness.SKIP: TaskInstanceState.SKIPPED,
    Readiness.UPSTREAM_FAILED: TaskInstanceState.UPSTREAM_FAILED,
}
"""The final state a task takes when its rule rules it out."""


def run_outcome(
    states: Mapping[str, TaskInstanceState], leaves: Iterable[str]
) -> DagRunState | None:
    """The state a run finishes in, or ``None`` while any task may still run.

    A run fails when one of its leaves failed (directly or upstream); otherwise it
    succeeds once every task has finished.
    """
    if any(state not in FINISHED for state in states.values()):
        return None
    if any(states[leaf] in FAILED_STATES for leaf in leaves):
        return DagRunState.FAILED
    return DagRunState.SUCCESS
