"""The user's day in a real Chromium: a trigger lands on the run page, which follows the
run's state live (no "queued" note), and times read in the user's zone when chosen."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Deployment, open_as, shoot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


@pytest.fixture
def kolkata(browser: Browser) -> Iterator[Page]:
    """A page in a browser whose time zone is Asia/Kolkata (UTC+5:30, no summer time)."""
    context = browser.new_context(timezone_id="Asia/Kolkata", locale="en-US")
    yield context.new_page()
    context.close()


def test_a_trigger_lands_on_the_run_that_then_succeeds_live(page: Page, loom: Deployment) -> None:
    loom.loom("dags", "unpause", "greet")
    open_as(page, loom, "user", "/dags/greet/trigger")
    page.get_by_label("Run id (optional)").fill("day_live")
    page.get_by_role("button", name="Trigger", exact=True).click()
    expect(page).to_have_url(re.compile("/dags/greet/runs/day_live"))
    expect(page.locator(".flash")).to_have_count(0)  # no "queued" note: the state says it
    state = page.locator("#run-live .run-state")
    expect(state).to_contain_text(re.compile("queued|running"))
    expect(state).to_contain_text("success", timeout=30_000)  # without reloading the page
    shoot(page, "run-after-trigger")


def test_times_read_in_the_users_zone_when_chosen(kolkata: Page, loom: Deployment) -> None:
    loom.run_to_end("greet", "day_zone", "success", timeout=30)
    sign_in(kolkata, loom, "viewer")
    kolkata.goto(f"{loom.url}/dags/greet/runs/day_zone")
    started = kolkata.locator("#run-live time").nth(1)
    utc_text = started.inner_text()
    assert STAMP.match(utc_text)
    assert utc_text.endswith(" UTC")
    iso = started.get_attribute("datetime")
    assert iso is not None
    kolkata.get_by_label("Show times in").select_option("local")
    local = kolkata.evaluate(
        "(iso) => { const d = new Date(new Date(iso).getTime() + 330 * 60000);"
        " return d.toISOString().slice(0, 19).replace('T', ' '); }",
        iso,
    )
    expect(started).to_have_text(f"{local} GMT+5:30")
    expect(started).to_have_attribute("title", utc_text)
    kolkata.reload()  # the choice is kept, and applies on every page
    expect(kolkata.locator("#run-live time").nth(1)).to_have_text(f"{local} GMT+5:30")
    kolkata.goto(f"{loom.url}/dags/greet/runs")
    expect(kolkata.locator("main time").first).to_have_text(re.compile(r"GMT\+5:30$"))
    expect(kolkata.get_by_label("Show times in")).to_have_value("local")
    kolkata.get_by_label("Show times in").select_option("utc")
    expect(kolkata.locator("main time").first).to_have_text(re.compile(r" UTC$"))


LOG_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}$")


def test_a_log_shows_each_lines_time_dimmer_than_its_text(page: Page, loom: Deployment) -> None:
    loom.run_to_end("greet", "day_log", "success", timeout=30)
    open_as(page, loom, "viewer", "/dags/greet/runs/day_log/tasks/hello")
    log = page.locator("pre.log")
    expect(log).to_contain_text("hello")
    stamp = log.locator(".log-time").first
    expect(stamp).to_have_text(LOG_TIME)
    assert log.inner_text().startswith(stamp.inner_text() + " ")  # still in the text
    colour = "(element) => getComputedStyle(element).color"
    assert stamp.evaluate(colour) != log.evaluate(colour)


GOOD = """
from datetime import datetime
from engine import DAG, BashOperator

with DAG("breaks", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    BashOperator(task_id="work", bash_command="echo working")
"""


def test_a_dag_whose_file_breaks_warns_on_trigger_and_its_run_waits_for_the_fix(
    page: Page, loom: Deployment
) -> None:
    loom.add_dags("breaks.py", GOOD, "breaks")
    loom.loom("dags", "unpause", "breaks")
    broken = GOOD + "\nraise RuntimeError('the config is gone')\n"
    (loom.dags_folder / "breaks.py").write_text(broken)
    loom.loom("dags", "reparse")
    try:
        open_as(page, loom, "user", "/dags/breaks")
        expect(page.get_by_text("DAG file does not import").first).to_be_visible()
        expect(page.get_by_text("the config is gone").first).to_be_visible()

        page.goto(f"{loom.url}/dags/breaks/trigger")
        page.get_by_label("Run id (optional)").fill("while_broken")
        page.get_by_role("button", name="Trigger", exact=True).click()
        force = page.get_by_label(re.compile("Trigger anyway"))
        expect(force).to_be_visible()  # refused until confirmed: no run yet
        expect(page).to_have_url(re.compile("/dags/breaks/trigger"))
        force.check()
        page.get_by_role("button", name="Trigger", exact=True).click()
        expect(page).to_have_url(re.compile("/dags/breaks/runs/while_broken"))
        page.get_by_role("link", name="work", exact=True).click()
        expect(page.get_by_text(re.compile("not queued: DAG file does not import"))).to_be_visible()
        shoot(page, "broken-file-task-waits")
    finally:
        (loom.dags_folder / "breaks.py").write_text(GOOD)
        loom.loom("dags", "reparse")
    page.goto(f"{loom.url}/dags/breaks/runs/while_broken")
    expect(page.locator("#run-live .run-state")).to_contain_text("success", timeout=60_000)
