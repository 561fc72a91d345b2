"""Trigger rules decide readiness from upstream states, as in Airflow."""

from __future__ import annotations

import pytest

from engine.authoring.trigger_rules import Readiness as R  # noqa: N817 - keeps the table readable
from engine.authoring.trigger_rules import TriggerRule as T
from engine.authoring.trigger_rules import UpstreamSummary, evaluate, run_outcome
from engine.state import DagRunState
from engine.state import TaskInstanceState as S

CASES = [
    (T.ALL_SUCCESS, [S.SUCCESS, S.SUCCESS], R.RUN),
    (T.ALL_SUCCESS, [S.SUCCESS, S.RUNNING], R.WAIT),
    (T.ALL_SUCCESS, [S.FAILED, S.RUNNING], R.UPSTREAM_FAILED),
    (T.ALL_SUCCESS, [S.UPSTREAM_FAILED, S.SUCCESS], R.UPSTREAM_FAILED),
    (T.ALL_SUCCESS, [S.SKIPPED, S.SUCCESS], R.SKIP),
    (T.ALL_FAILED, [S.FAILED, S.UPSTREAM_FAILED], R.RUN),
    (T.ALL_FAILED, [S.FAILED, S.SUCCESS], R.SKIP),
    (T.ALL_FAILED, [S.FAILED, S.QUEUED], R.WAIT),
    (T.ALL_DONE, [S.FAILED, S.SKIPPED, S.SUCCESS], R.RUN),
    (T.ALL_DONE, [S.FAILED, S.UP_FOR_RETRY], R.WAIT),
    (T.ONE_SUCCESS, [S.SUCCESS, S.RUNNING], R.RUN),
    (T.ONE_SUCCESS, [S.FAILED, S.SKIPPED], R.UPSTREAM_FAILED),
    (T.ONE_SUCCESS, [S.SKIPPED, S.SKIPPED], R.SKIP),
    (T.ONE_SUCCESS, [S.FAILED, S.RUNNING], R.WAIT),
    (T.ONE_FAILED, [S.FAILED, S.RUNNING], R.RUN),
    (T.ONE_FAILED, [S.SUCCESS, S.SKIPPED], R.SKIP),
    (T.ONE_FAILED, [S.SUCCESS, S.RUNNING], R.WAIT),
    (T.NONE_FAILED, [S.SUCCESS, S.SKIPPED], R.RUN),
    (T.NONE_FAILED, [S.SUCCESS, S.UPSTREAM_FAILED], R.UPSTREAM_FAILED),
    (T.NONE_FAILED, [S.SUCCESS, S.SCHEDULED], R.WAIT),
    (T.NONE_FAILED_MIN_ONE_SUCCESS, [S.SUCCESS, S.SKIPPED], R.RUN),
    (T.NONE_FAILED_MIN_ONE_SUCCESS, [S.SKIPPED, S.SKIPPED], R.SKIP),
    (T.NONE_FAILED_MIN_ONE_SUCCESS, [S.FAILED, S.SKIPPED], R.UPSTREAM_FAILED),
    (T.NONE_SKIPPED, [S.SUCCESS, S.FAILED], R.RUN),
    (T.NONE_SKIPPED, [S.SUCCESS, S.SKIPPED], R.SKIP),
    (T.NONE_SKIPPED, [S.SUCCESS, S.NONE], R.WAIT),
    (T.ALWAYS, [S.NONE, S.FAILED], R.RUN),
    (T.ALL_SKIPPED, [S.SKIPPED, S.SKIPPED], R.RUN),
    (T.ALL_SKIPPED, [S.SKIPPED, S.RUNNING], R.WAIT),
    (T.ALL_SKIPPED, [S.SUCCESS, S.RUNNING], R.SKIP),
    (T.ALL_SKIPPED, [S.UPSTREAM_FAILED, S.SKIPPED], R.SKIP),
    (T.ONE_DONE, [S.FAILED, S.RUNNING], R.RUN),
    (T.ONE_DONE, [S.SUCCESS, S.NONE], R.RUN),
    (T.ONE_DONE, [S.UPSTREAM_FAILED, S.RUNNING], R.WAIT),
    (T.ONE_DONE, [S.UPSTREAM_FAILED, S.UPSTREAM_FAILED], R.SKIP),
    (T.ONE_DONE, [S.SKIPPED, S.UPSTREAM_FAILED], R.SKIP),
    (T.ALL_DONE_MIN_ONE_SUCCESS, [S.SUCCESS, S.RUNNING], R.WAIT),
    (T.ALL_DONE_MIN_ONE_SUCCESS, [S.SUCCESS, S.FAILED], R.RUN),
    (T.ALL_DONE_MIN_ONE_SUCCESS, [S.SUCCESS, S.SKIPPED], R.RUN),
    (T.ALL_DONE_MIN_ONE_SUCCESS, [S.FAILED, S.SKIPPED], R.UPSTREAM_FAILED),
    (T.ALL_DONE_MIN_ONE_SUCCESS, [S.SKIPPED, S.SKIPPED], R.SKIP),
    (T.ALL_DONE_SETUP_SUCCESS, [S.FAILED, S.RUNNING], R.WAIT),
    (T.ALL_DONE_SETUP_SUCCESS, [S.FAILED, S.SKIPPED], R.RUN),
]

# all_done_setup_success: (upstream states, states of the setup tasks among them, verdict)
SETUP_CASES = [
    ([S.SUCCESS, S.FAILED], [S.SUCCESS], R.RUN),
    ([S.SKIPPED, S.SUCCESS], [S.SKIPPED], R.SKIP),
    ([S.FAILED, S.SUCCESS], [S.FAILED], R.UPSTREAM_FAILED),
    ([S.FAILED, S.SKIPPED, S.SUCCESS], [S.FAILED, S.SKIPPED], R.UPSTREAM_FAILED),
    ([S.SUCCESS, S.RUNNING], [S.SUCCESS], R.WAIT),
]


@pytest.mark.parametrize(("rule", "states", "expected"), CASES)
def test_rule_decides(rule: T, states: list[S], expected: R) -> None:
    assert evaluate(rule, UpstreamSummary.of(states)) is expected


@pytest.mark.parametrize(("states", "setups", "expected"), SETUP_CASES)
def test_all_done_setup_success_follows_the_setups(
    states: list[S], setups: list[S], expected: R
) -> None:
    summary = UpstreamSummary.of(states, setups)
    assert evaluate(T.ALL_DONE_SETUP_SUCCESS, summary) is expected


def test_airflow_3_has_thirteen_rules() -> None:
    assert len(T) == 13


@pytest.mark.parametrize("rule", list(T))
def test_a_task_without_upstream_runs(rule: T) -> None:
    assert evaluate(rule, UpstreamSummary.of([])) is R.RUN


def test_every_rule_decides_once_all_upstream_finished() -> None:
    finished = [S.SUCCESS, S.FAILED, S.SKIPPED, S.UPSTREAM_FAILED]
    for rule in T:
        for a in finished:
            for b in finished:
                assert evaluate(rule, UpstreamSummary.of([a, b])) is not R.WAIT, (rule, a, b)


def test_run_outcome_follows_the_leaves() -> None:
    assert run_outcome({"a": S.SUCCESS, "b": S.RUNNING}, ["b"]) is None
    assert run_outcome({"a": S.FAILED, "b": S.SUCCESS}, ["b"]) is DagRunState.SUCCESS
    assert run_outcome({"a": S.SUCCESS, "b": S.UPSTREAM_FAILED}, ["b"]) is DagRunState.FAILED
    assert run_outcome({"a": S.SUCCESS, "b": S.SKIPPED}, ["b"]) is DagRunState.SUCCESS
