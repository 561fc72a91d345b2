"""The transition table: derived sets are consistent and illegal moves are refused."""

from __future__ import annotations

import itertools

import pytest

from engine.errors import IllegalTransitionError
from engine.state import (
    ACTIVE,
    FINISHED,
    RUN_TRANSITIONS,
    TASK_TRANSITIONS,
    UNFINISHED,
    DagRunState,
    TaskInstanceState,
    check_run_transition,
    check_task_transition,
)

TI = TaskInstanceState


def test_every_state_has_a_row_and_sets_partition_the_states() -> None:
    assert set(TASK_TRANSITIONS) == set(TI)
    assert set(RUN_TRANSITIONS) == set(DagRunState)
    assert set(TI) == FINISHED | UNFINISHED
    assert not FINISHED & UNFINISHED


def test_the_normal_life_of_a_task_is_allowed() -> None:
    path = [TI.NONE, TI.SCHEDULED, TI.QUEUED, TI.RUNNING, TI.UP_FOR_RETRY, TI.SCHEDULED,
            TI.QUEUED, TI.RUNNING, TI.SUCCESS, TI.NONE]  # fmt: skip
    for old, new in itertools.pairwise(path):
        check_task_transition(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (TI.NONE, TI.RUNNING),  # must be claimed from queued
        (TI.SUCCESS, TI.RUNNING),
        (TI.FAILED, TI.UP_FOR_RETRY),
        (TI.SCHEDULED, TI.RUNNING),
        (TI.RUNNING, TI.QUEUED),
        (TI.RUNNING, TI.NONE),  # a running task is not cleared under its worker
    ],
)
def test_illegal_task_moves_are_refused(old: TI, new: TI) -> None:
    with pytest.raises(IllegalTransitionError, match=f"from {old} to {new}"):
        check_task_transition(old, new)


def test_runs_move_forward_and_can_be_cleared() -> None:
    check_run_transition(DagRunState.QUEUED, DagRunState.RUNNING)
    check_run_transition(DagRunState.FAILED, DagRunState.QUEUED)
    with pytest.raises(IllegalTransitionError):
        check_run_transition(DagRunState.SUCCESS, DagRunState.RUNNING)


def test_a_rescheduled_sensor_waits_without_a_slot_and_is_scheduled_for_its_next_poke() -> None:
    path = [TI.SCHEDULED, TI.QUEUED, TI.RUNNING, TI.UP_FOR_RESCHEDULE, TI.SCHEDULED, TI.QUEUED,
            TI.RUNNING, TI.UP_FOR_RESCHEDULE, TI.NONE]  # fmt: skip
    for old, new in itertools.pairwise(path):
        check_task_transition(old, new)
    for new in (TI.SUCCESS, TI.FAILED, TI.SKIPPED, TI.REMOVED):  # marked, fail fast, removed
        check_task_transition(TI.UP_FOR_RESCHEDULE, new)
    with pytest.raises(IllegalTransitionError):
        check_task_transition(TI.UP_FOR_RESCHEDULE, TI.RUNNING)  # only through a queued poke
    assert TI.UP_FOR_RESCHEDULE in UNFINISHED
    assert TI.UP_FOR_RESCHEDULE not in ACTIVE
