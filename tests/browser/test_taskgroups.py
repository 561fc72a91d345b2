"""Task groups in a real Chromium: the graph opens a collapsed group on click, in place,
and the grid folds a group's rows."""

from __future__ import annotations

import re
import textwrap

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Deployment, finished_run, open_as, shoot

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

GROUPED = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, BashOperator, Label, TaskGroup

    with DAG("grouped_browser", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        start = BashOperator(task_id="start", bash_command="echo start")
        with TaskGroup("load", tooltip="Load the rows") as load:
            a = BashOperator(task_id="a", bash_command="echo a")
            b = BashOperator(task_id="b", bash_command="echo b")
            a >> b
        end = BashOperator(task_id="end", bash_command="echo end")
        start >> Label("rows ready") >> load >> end
    """
)


grouped_run = finished_run(
    "grouped_dags.py", GROUPED, "grouped_browser", run_id="groups1", state="success", timeout=60
)


def test_clicking_a_collapsed_group_expands_it_in_place(
    page: Page, loom: Deployment, grouped_run: str
) -> None:
    open_as(page, loom, "viewer", "/dags/grouped_browser/graph")
    group = page.locator('[data-group="load"]')
    expect(group).to_have_class(re.compile("state-success"))
    expect(page.locator('[data-task="load.a"]')).to_have_count(0)
    expect(page.locator(".edge-label", has_text="rows ready")).to_be_visible()
    shoot(page, "graph-group-collapsed")
    page.get_by_role("link", name=re.compile("Expand group load")).click()
    expect(page.locator('[data-task="load.a"]')).to_be_visible()
    expect(page.locator('[data-group-box="load"]')).to_be_visible()
    expect(page).to_have_url(re.compile(r"expand=load"))
    shoot(page, "graph-group-expanded")
    page.get_by_role("link", name="Collapse group load").click()
    expect(page.locator('[data-group="load"]')).to_be_visible()
    expect(page.locator('[data-task="load.a"]')).to_have_count(0)


def test_the_grid_folds_and_unfolds_a_groups_rows(
    page: Page, loom: Deployment, grouped_run: str
) -> None:
    open_as(page, loom, "viewer", "/dags/grouped_browser")
    toggle = page.get_by_role("button", name="load", exact=True)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("rowheader", name="load.a")).to_have_count(0)
    group = page.get_by_role("gridcell", name=f"group load, run {grouped_run}: success")
    expect(group).to_be_visible()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("rowheader", name="load.a")).to_be_visible()
    shoot(page, "grid-group-open")
    toggle.click()
    expect(page.get_by_role("rowheader", name="load.b")).to_have_count(0)
