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
    ALL_DONE_MIN_ONE_SUCCESS = "all_done_min_one_success"
    ALL_DONE_SETUP_SUCCESS = "all_done_setup_success"
    ALL_SKIPPED = "all_skipped"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    ONE_DONE = "one_done"
    NONE_FAILED = "none_failed"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    NONE_SKIPPED = "none_skipped"
    ALWAYS = "always"


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
    """Failed or upstream_failed."""
    done: int
    upstream_failed: int = 0
    """Of ``failed``, those that never ran (``upstream_failed``)."""
    setups: UpstreamSummary | None = None
    """The upstream setup tasks among them, for ``all_done_setup_success``."""

    @classmethod
    def of(
        cls,
        states: Iterable[TaskInstanceState],
        setup_states: Iterable[TaskInstanceState] = (),
    ) -> UpstreamSummary:
        """Counts of ``states``; ``setup_states`` are those of the setup tasks among them."""
        states = list(states)
        setup_states = list(setup_states)
        return cls(
            total=len(states),
            success=sum(s is TaskInstanceState.SUCCESS for s in states),
            skipped=sum(s is TaskInstanceState.SKIPPED for s in states),
            failed=sum(s in FAILED_STATES for s in states),
            done=sum(s in FINISHED for s in states),
            upstream_failed=sum(s is TaskInstanceState.UPSTREAM_FAILED for s in states),
            setups=cls.of(setup_states) if setup_states else None,
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


def _all_done_min_one_success(u: UpstreamSummary) -> Readiness:
    # As Airflow documents it (skipped counts as done), not as its 3.1 code does it
    # (skipped as soon as any upstream is): see docs/decisions.md.
    if not u.all_done:
        return Readiness.WAIT
    if u.success:
        return Readiness.RUN
    return Readiness.UPSTREAM_FAILED if u.failed else Readiness.SKIP


def _all_done_setup_success(u: UpstreamSummary) -> Readiness:
    if not u.all_done:
        return Readiness.WAIT
    setups = u.setups
    if setups is None or setups.success:
        return Readiness.RUN
    return Readiness.SKIP if setups.skipped == setups.total else Readiness.UPSTREAM_FAILED


def _all_skipped(u: UpstreamSummary) -> Readiness:
    if u.success or u.failed:
        return Readiness.SKIP
    return Readiness.RUN if u.skipped == u.total else Readiness.WAIT


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


def _one_done(u: UpstreamSummary) -> Readiness:
    # A task that ran counts (succeeded or failed); skipped and upstream_failed do not.
    if u.success or u.failed > u.upstream_failed:
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
    TriggerRule.ALL_DONE_MIN_ONE_SUCCESS: _all_done_min_one_success,
    TriggerRule.ALL_DONE_SETUP_SUCCESS: _all_done_setup_success,
    TriggerRule.ALL_SKIPPED: _all_skipped,
    TriggerRule.ONE_SUCCESS: _one_success,
    TriggerRule.ONE_FAILED: _one_failed,
    TriggerRule.ONE_DONE: _one_done,
    TriggerRule.NONE_FAILED: _none_failed,
    TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS: _none_failed_min_one_success,
    TriggerRule.NONE_SKIPPED: _none_skipped,
}

SETUP_RULES = frozenset({TriggerRule.ALL_DONE_SETUP_SUCCESS})
"""The rules that look at which upstream tasks are setup tasks."""


def setup_ids(tasks: Mapping[str, object], upstream: Iterable[str]) -> list[str]:
    """The setup tasks among ``upstream``: those whose task (operator or serialized) has a
    true ``is_setup``; a task without the flag is no setup."""
    return [up for up in upstream if getattr(tasks.get(up), "is_setup", False)]


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
