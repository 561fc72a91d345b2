"""The user's day in a real Chromium: a trigger lands on the run page, which follows the
run's state live (no "queued" note), and times read in the user's zone when chosen."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Deployment, shoot, sign_in

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
    sign_in(page, loom, "user")
    page.goto(f"{loom.url}/dags/greet/trigger")
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
