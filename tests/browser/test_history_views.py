"""The calendar, the task duration and landing charts, a run's Gantt chart and its note in
a real Chromium, on runs the deployment's scheduler and worker ran."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Deployment, finished_run, open_as, shoot

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

HISTORY = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, BashOperator

    with DAG("history_browser", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        first = BashOperator(task_id="first", bash_command="sleep 1; echo first")
        fan = BashOperator.partial(task_id="fan", retries=0).expand(
            bash_command=["echo a", "echo b"]
        )
        first >> fan
    """
)


history_run = finished_run(
    "history_dags.py", HISTORY, "history_browser", run_id="hist1", state="success", timeout=90
)


def test_todays_calendar_square_is_green_and_opens_the_days_runs(
    page: Page, loom: Deployment, history_run: str
) -> None:
    today = datetime.now(UTC).date().isoformat()
    open_as(page, loom, "viewer", "/dags/history_browser")
    page.get_by_role("link", name="Calendar").click()
    square = page.get_by_role("link", name=f"{today}: 1 run (1 success)")
    expect(square).to_have_attribute("data-outcome", "success")
    colour = square.locator("rect").evaluate("rect => getComputedStyle(rect).fill")
    assert colour == "rgb(30, 125, 50)"  # --success
    expect(page.locator('rect[data-outcome="none"]').first).to_be_visible()
    shoot(page, "calendar")
    square.click()
    expect(page).to_have_url(re.compile(rf"/dags/history_browser/runs\?day={today}$"))
    expect(page.get_by_text(f"Runs of {today}")).to_be_visible()
    expect(page.locator(f'tr[data-run="{history_run}"]')).to_be_visible()


def test_the_charts_plot_a_point_per_task_and_list_the_values(
    page: Page, loom: Deployment, history_run: str
) -> None:
    open_as(page, loom, "viewer", "/dags/history_browser/durations")
    for chart in ("#duration-chart", "#landing-chart"):
        for task_id in ("first", "fan"):
            point = page.locator(
                f'{chart} g[data-task="{task_id}"] circle[data-run="{history_run}"]'
            )
            expect(point).to_have_count(1)
            box = point.bounding_box()
            assert box is not None
            assert box["width"] > 0
    expect(page.get_by_role("img", name=re.compile("^Task duration of each task"))).to_be_visible()
    shoot(page, "task-durations")
    page.get_by_text("Task duration as a table").click()
    row = page.locator('#duration-chart-table tr[data-task="first"] td')
    expect(row).to_have_text(re.compile(r"^\d+(\.\d)?s$"))  # at least the 1 s it slept
    assert float(row.inner_text().removesuffix("s")) >= 1.0


def test_the_gantt_chart_has_a_bar_per_task_instance(
    page: Page, loom: Deployment, history_run: str
) -> None:
    open_as(page, loom, "viewer", f"/dags/history_browser/runs/{history_run}")
    page.get_by_role("link", name="Gantt").click()
    expect(page).to_have_url(re.compile(r"/run-gantt/hist1$"))
    rows = page.locator("table.run-gantt tbody tr")
    expect(rows).to_have_count(3)  # first, fan[0], fan[1]
    running = page.locator("table.run-gantt .seg-running")
    expect(running).to_have_count(3)
    for index in range(3):
        box = running.nth(index).bounding_box()
        assert box is not None
        assert box["width"] >= 2
    queued = page.locator('tr[data-task="first"] .seg-queued')
    expect(queued).to_have_count(1)  # the scheduler queued it before the worker started it
    expect(queued).to_have_attribute("aria-label", re.compile(r"^first: queued [\d.]+m?s, from \+"))
    first = page.locator('tr[data-task="first"] .seg-running').bounding_box()
    fan = page.locator('tr[data-task="fan"] .seg-running').first.bounding_box()
    assert first is not None
    assert fan is not None
    assert fan["x"] >= first["x"] + first["width"] - 1  # fan ran after first ended
    shoot(page, "run-gantt")


def test_a_users_note_shows_after_reload_and_in_the_runs_list(
    page: Page, loom: Deployment, history_run: str
) -> None:
    open_as(page, loom, "user", f"/dags/history_browser/runs/{history_run}")
    page.get_by_label("Note").fill("checked by the on-call")
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_text("note saved")).to_be_visible()
    page.reload()
    expect(page.locator(".run-note-text")).to_have_text("checked by the on-call")
    expect(page.get_by_label("Note")).to_have_value("checked by the on-call")
    shoot(page, "run-note")
    page.goto(f"{loom.url}/dags/history_browser/runs")
    expect(page.locator(f'tr[data-run="{history_run}"] td.run-note')).to_have_text(
        "checked by the on-call"
    )
