"""Live refresh in a real Chromium: a live element replaced by something else (the
graph's expand and collapse links) stops refreshing itself."""

from __future__ import annotations

import re
import textwrap

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Deployment, open_as

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


SLOW_GROUP = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, BashOperator, TaskGroup

    with DAG("slow_group_browser", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        with TaskGroup("wait"):
            BashOperator(task_id="sleep", bash_command="sleep 30")
    """
)


def test_a_live_graph_replaced_by_an_expand_link_stops_refreshing(
    page: Page, loom: Deployment
) -> None:
    """The figure an expand or collapse link replaces stops its live refresh: clicking
    back and forth leaves one refresh loop, not one more per click."""
    (loom.marker.parent / "dags" / "slow_group_dags.py").write_text(SLOW_GROUP)
    loom.loom("dags", "reparse")
    loom.loom("dags", "unpause", "slow_group_browser")
    loom.loom("dags", "trigger", "slow_group_browser", "--run-id", "slow1")
    open_as(page, loom, "viewer", "/dags/slow_group_browser/graph?run_id=slow1")
    for _ in range(3):
        page.get_by_role("link", name=re.compile("Expand group wait")).click()
        expect(page.locator('[data-task="wait.sleep"]')).to_be_visible()
        page.get_by_role("link", name="Collapse group wait").click()
        expect(page.locator('[data-group="wait"]')).to_be_visible()
    refreshes: list[str] = []
    page.on(
        "request",
        lambda request: (
            refreshes.append(request.url) if request.headers.get("x-loom-fragment") else None
        ),
    )
    page.wait_for_timeout(5_000)
    assert 1 <= len(refreshes) <= 3, refreshes  # one loop: a refresh every 2 seconds
