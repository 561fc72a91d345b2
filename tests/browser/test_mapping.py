"""Mapped tasks in a real Chromium: the grid shows a mapped task's count and summary, its
cell's details link to the list of its map indexes, and one index's page shows that
instance's log."""

from __future__ import annotations

import re
import textwrap

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Deployment, finished_run, open_as, shoot

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

MAPPED = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, BashOperator

    with DAG("mapped_browser", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        BashOperator.partial(task_id="shout", retries=0).expand(
            bash_command=["echo first", "echo second", "echo third; exit 3"]
        )
    """
)


mapped_run = finished_run(  # index 2 fails
    "mapped_dags.py", MAPPED, "mapped_browser", run_id="maps1", state="failed", timeout=90
)


def test_the_grid_opens_a_mapped_tasks_instances_and_one_instances_log(
    page: Page, loom: Deployment, mapped_run: str
) -> None:
    open_as(page, loom, "viewer", "/dags/mapped_browser")
    expect(page.get_by_role("rowheader", name="shout [3]")).to_be_visible()
    cell = page.get_by_role(
        "gridcell", name=f"task shout, run {mapped_run}: 3 mapped: 2 success, 1 failed"
    )
    expect(cell).to_be_visible()
    cell.click()
    panel = page.locator("#grid-details")
    expect(panel).to_contain_text("3 mapped: 2 success, 1 failed")
    shoot(page, "grid-mapped-task")
    panel.get_by_role("link", name="All instances").click()
    expect(page.get_by_role("heading", name=re.compile(r"Task shout \[3\]"))).to_be_visible()
    expect(page.get_by_text("3 mapped: 2 success, 1 failed")).to_be_visible()
    expect(page.locator("tr[data-map-index]")).to_have_count(3)
    shoot(page, "mapped-instances")
    page.get_by_role("link", name="shout[1]: log").click()
    expect(page).to_have_url(re.compile(r"map_index=1"))
    expect(page.get_by_role("heading", name=re.compile("map index 1"))).to_be_visible()
    expect(page.locator("pre.log")).to_contain_text("second")
    expect(page.locator("pre.log")).not_to_contain_text("first")
    shoot(page, "mapped-instance-log")
