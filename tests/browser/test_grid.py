"""The grid in a real Chromium: run bars with their labels, a task group folding (and
staying folded after a reload), a cell's details panel opened by click and by keyboard,
an action posted from it, and a cell changing state by live refresh without a reload."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Deployment, open_as, shoot

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

RUN_TIMEOUT_MS = 60_000
GRID_DAG = textwrap.dedent(
    """
    import os
    import time
    from datetime import datetime
    from pathlib import Path

    from engine import DAG, BashOperator, PythonOperator, TaskGroup

    def wait_for_go():
        go = Path(os.environ["LOOM_BROWSER_MARKER"] + ".grid-go")
        for _ in range(1200):
            if go.exists():
                print("go")
                return
            time.sleep(0.1)
        raise RuntimeError("no go")

    with DAG("grid_browser", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        first = BashOperator(task_id="first", bash_command="echo first line; echo second line")
        with TaskGroup("stage") as stage:
            PythonOperator(task_id="gate", python_callable=wait_for_go, retries=0)
        last = BashOperator(task_id="last", bash_command="echo last")
        first >> stage >> last
    """
)


def go_file(loom: Deployment) -> Path:
    return Path(f"{loom.marker}.grid-go")


@pytest.fixture(scope="module")
def grid_run(loom: Deployment) -> Iterator[str]:
    """The grid DAG, parsed and run to success once (its gate open); the run's id."""
    dag_id = loom.add_dags("grid_dags.py", GRID_DAG, "grid_browser")
    go_file(loom).touch()
    yield loom.run_to_end(dag_id, "g1", "success", timeout=90)
    go_file(loom).touch()  # no run of this DAG waits after the module


def test_run_bars_labels_and_rows_in_dag_order(page: Page, loom: Deployment, grid_run: str) -> None:
    open_as(page, loom, "viewer", "/dags/grid_browser")
    bar = page.get_by_role("link", name=re.compile(rf"^Run {grid_run}, logical date .*: success"))
    expect(bar).to_be_visible()
    assert bar.bounding_box()["height"] >= 4  # type: ignore[index]
    expect(bar).to_have_class(re.compile("state-success"))
    bar.hover()
    expect(page.locator(".grid-label")).to_contain_text(f"Run {grid_run}")
    expect(page.locator("th.run .run-date").first).not_to_be_empty()
    heads = page.locator("tbody th.task").all_inner_texts()
    assert [h.strip("▸▾ ") for h in heads] == ["first", "stage", "last"]
    expect(
        page.get_by_role("gridcell", name=f"task first, run {grid_run}: success")
    ).to_be_visible()
    shoot(page, "grid-run-bars")


def test_a_group_folds_and_stays_as_left(page: Page, loom: Deployment, grid_run: str) -> None:
    open_as(page, loom, "viewer", "/dags/grid_browser")
    toggle = page.get_by_role("button", name="stage", exact=True)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("rowheader", name="stage.gate")).to_have_count(0)
    expect(
        page.get_by_role("gridcell", name=f"group stage, run {grid_run}: success")
    ).to_be_visible()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("rowheader", name="stage.gate")).to_be_visible()
    shoot(page, "grid-group-open")
    page.reload()  # remembered in localStorage
    toggle = page.get_by_role("button", name="stage", exact=True)
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(page.get_by_role("rowheader", name="stage.gate")).to_have_count(0)


def test_details_by_click_and_by_keyboard(page: Page, loom: Deployment, grid_run: str) -> None:
    open_as(page, loom, "viewer", "/dags/grid_browser")
    first = page.get_by_role("gridcell", name=f"task first, run {grid_run}: success")
    first.click()
    panel = page.locator("#grid-details")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading", name=f"first · {grid_run}")).to_be_visible()
    expect(panel.locator("pre.log-tail")).to_contain_text("second line")
    expect(panel.locator("pre.log-tail .log-time").first).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}$")
    )
    expect(panel.get_by_role("link", name="Task instance page")).to_have_attribute(
        "href", f"/dags/grid_browser/runs/{grid_run}/tasks/first"
    )
    expect(panel.get_by_role("button", name="Mark failed")).to_have_count(0)  # a Viewer
    # Written as the server and the CLI write durations (human_duration): "35ms", not "0.0s".
    took = panel.locator("dt", has_text="Duration").locator("xpath=following-sibling::dd[1]")
    expect(took).to_have_text(re.compile(r"^(\d+ms|[1-9]\d*(\.\d)?s)$"))
    shoot(page, "grid-details")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(
        page.get_by_role("gridcell", name=f"group stage, run {grid_run}: success")
    ).to_be_focused()
    page.keyboard.press("ArrowDown")
    last = page.get_by_role("gridcell", name=f"task last, run {grid_run}: success")
    expect(last).to_be_focused()
    page.keyboard.press("Enter")
    expect(panel.get_by_role("heading", name=f"last · {grid_run}")).to_be_visible()
    expect(panel.locator("pre.log-tail")).to_contain_text("last")


def test_an_action_from_the_panel_changes_the_cell(
    page: Page, loom: Deployment, grid_run: str
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    open_as(page, loom, "op", "/dags/grid_browser")
    page.get_by_role("gridcell", name=f"task last, run {grid_run}: success").click()
    page.locator("#grid-details").get_by_role("button", name="Mark failed").click()
    expect(page.get_by_role("gridcell", name=f"task last, run {grid_run}: failed")).to_be_visible()
    expect(page.locator("#grid-details .details-state")).to_contain_text("failed")


def test_live_refresh_changes_a_cell_without_reloading(
    page: Page, loom: Deployment, grid_run: str
) -> None:
    go_file(loom).unlink(missing_ok=True)
    loom.loom("dags", "trigger", "grid_browser", "--run-id", "g2")
    open_as(page, loom, "viewer", "/dags/grid_browser")
    page.get_by_role("button", name="stage", exact=True).click()
    running = page.get_by_role("gridcell", name="task stage.gate, run g2: running")
    expect(running).to_be_visible(timeout=RUN_TIMEOUT_MS)
    page.evaluate("window.loomNotReloaded = true")
    running.click()  # the open panel follows the cell too
    expect(page.locator("#grid-details .details-state")).to_contain_text("running")
    go_file(loom).touch()
    done = page.get_by_role("gridcell", name="task last, run g2: success")
    expect(done).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_role("gridcell", name="task stage.gate, run g2: success")).to_be_visible()
    expect(page.locator("#grid-details .details-state")).to_contain_text("success")
    assert page.evaluate("window.loomNotReloaded === true")
    shoot(page, "grid-live")
