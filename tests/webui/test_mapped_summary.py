"""The mapped task summary (pure logic): counts by state, one aggregated state, the badge
and the words, before and after the expansion; the grid row's badge."""

from __future__ import annotations

from engine.state import TI
from webui.ui.viewmodels.grid import GridRow
from webui.ui.viewmodels.mapped import summarize


def test_expanded_instances_are_counted_by_state_the_most_first() -> None:
    summary = summarize([(0, TI.SUCCESS), (1, TI.FAILED), (2, TI.SUCCESS)])
    assert summary.count == 3
    assert summary.by_state == ((TI.SUCCESS, 2), (TI.FAILED, 1))
    assert summary.state is TI.FAILED  # as a task group's: a failure says most
    assert summary.badge == "[3]"
    assert summary.text == "3 mapped: 2 success, 1 failed"


def test_in_flight_instances_outrank_finished_ones_and_states_read_as_words() -> None:
    summary = summarize([(0, TI.SUCCESS), (1, TI.UP_FOR_RETRY), (2, TI.RUNNING), (3, TI.RUNNING)])
    assert summary.state is TI.UP_FOR_RETRY
    assert summary.text == "4 mapped: 2 running, 1 success, 1 up for retry"


def test_a_placeholder_alone_is_not_expanded_and_gives_its_state() -> None:
    waiting = summarize([(-1, TI.NONE)])
    assert (waiting.count, waiting.expanded, waiting.state) == (0, False, TI.NONE)
    assert waiting.badge == "[ ]"
    assert waiting.text == "mapped, not expanded yet (none)"
    assert summarize([(-1, TI.UPSTREAM_FAILED)]).state is TI.UPSTREAM_FAILED


def test_nothing_at_all_has_no_state() -> None:
    empty = summarize([])
    assert (empty.state, empty.badge, empty.text) == (
        None,
        "[ ]",
        "mapped, not expanded yet (no instance)",
    )


def test_a_grid_rows_badge_is_its_latest_runs_count() -> None:
    older, newer = summarize([(0, TI.SUCCESS)]), summarize([(i, TI.QUEUED) for i in range(5)])
    assert GridRow("t", (TI.SUCCESS, TI.QUEUED), mapped=(older, newer)).badge == "[5]"
    assert GridRow("t", (TI.SUCCESS, None), mapped=(older, None)).badge == "[1]"
    assert GridRow("t", (None,), mapped=(None,)).badge == "[ ]"
    assert GridRow("t", (TI.SUCCESS,)).badge == ""
    assert not GridRow("t", (TI.SUCCESS,)).is_mapped
