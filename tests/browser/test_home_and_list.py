"""The home page, the DAG list's pause switch and live latest runs, the login form's focus
and the dark theme, in a real Chromium against a real Loom (scheduler, RQ worker,
gunicorn)."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, Deployment, parsed_dag, shoot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

SWITCHABLE = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, BashOperator

    with DAG("switchable", schedule=None, start_date=datetime(2026, 1, 1),
             is_paused_upon_creation=True, tags=["switch"]) as dag:
        BashOperator(task_id="hello", bash_command="echo hello")
    """
)


def is_paused(loom: Deployment, dag_id: str) -> bool:
    listed = json.loads(loom.loom("dags", "list", "-o", "json"))
    return bool(next(d for d in listed if d["dag_id"] == dag_id)["paused"])


def run_states(loom: Deployment, dag_id: str) -> dict[str, str]:
    listed = json.loads(loom.loom("runs", "list", dag_id, "-o", "json"))
    return {run["run_id"]: run["state"] for run in listed}


# A paused DAG these tests may pause, unpause and trigger.
switchable = parsed_dag("switchable_dags.py", SWITCHABLE, "switchable")


def test_sign_in_lands_on_the_home_page(page: Page, loom: Deployment) -> None:
    page.goto(f"{loom.url}/login")
    page.get_by_label("Username").fill("op")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Home", exact=True)).to_be_visible()
    health = page.locator("table.health")
    expect(health.locator('tr[data-component="scheduler"]')).to_contain_text("healthy")
    workers = health.locator('tr[data-component="workers"]')
    expect(workers).to_contain_text("✓ healthy")  # an idle worker's own heartbeat
    expect(workers).to_contain_text("1 alive")
    # This deployment runs no notifier.
    expect(health.locator('tr[data-component="notifier"]')).to_contain_text("no heartbeat recorded")
    expect(page.get_by_role("list", name="Runs by state")).to_be_visible()
    waiting = page.locator('[data-waiting="import_errors"]')
    expect(waiting).to_contain_text("1 import error")
    expect(page.locator('tr[data-pool="default_pool"]')).to_be_visible()
    shoot(page, "home")
    page.get_by_role("link", name="7d").click()
    expect(page).to_have_url(re.compile(r"window=7d"))
    waiting.get_by_role("link", name=re.compile("broken.py")).click()
    expect(page.get_by_text("SyntaxError").first).to_be_visible()


def test_the_pause_switch_toggles_and_shows_the_state(
    page: Page, loom: Deployment, switchable: str
) -> None:
    sign_in(page, loom, "admin")
    row = page.locator(f'tr[data-dag="{switchable}"]')
    switch = row.get_by_role("switch")
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(switch).to_have_text("Paused")
    shoot(page, "dags-switch-paused")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(switch).to_have_text("Active")
    assert not is_paused(loom, switchable)
    switch.focus()
    page.keyboard.press("Space")
    expect(switch).to_have_attribute("aria-checked", "false")
    assert is_paused(loom, switchable)


def test_the_latest_runs_refresh_while_the_list_is_open(
    page: Page, loom: Deployment, switchable: str
) -> None:
    sign_in(page, loom, "admin")
    page.evaluate("window.loomKept = true")  # gone if the page reloaded
    row = page.locator(f'tr[data-dag="{switchable}"]')
    loom.loom("dags", "trigger", switchable, "--run-id", "live_one")  # paused: it waits
    square = row.get_by_role("link", name="live_one: queued")
    expect(square).to_be_visible(timeout=15_000)
    assert page.evaluate("window.loomKept") is True
    square.click()
    expect(page).to_have_url(re.compile(f"/dags/{switchable}/runs/live_one"))


def test_a_paused_dag_is_triggered_and_its_run_waits(
    page: Page, loom: Deployment, switchable: str
) -> None:
    sign_in(page, loom, "user")
    page.get_by_role("link", name=f"Trigger {switchable}").click()
    expect(page.get_by_role("status").filter(has_text="is paused")).to_contain_text(
        "waits, queued, until switchable is unpaused"
    )
    page.get_by_label("Run id (optional)").fill("waits_paused")
    page.get_by_role("button", name="Trigger", exact=True).click()
    expect(page).to_have_url(re.compile("/runs/waits_paused"))
    expect(page.get_by_text("waits until switchable is unpaused")).to_be_visible()
    page.wait_for_timeout(2_000)  # several scheduler ticks
    assert run_states(loom, switchable)["waits_paused"] == "queued"


def test_a_wrong_password_puts_the_focus_on_the_password(page: Page, loom: Deployment) -> None:
    page.goto(f"{loom.url}/login")
    expect(page.get_by_label("Username")).to_be_focused()
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Home", exact=True)).to_be_visible()


def test_the_dark_theme_follows_the_system(page: Page, loom: Deployment) -> None:
    background = "getComputedStyle(document.body).backgroundColor"
    page.goto(f"{loom.url}/login")
    assert page.evaluate(background) == "rgb(246, 247, 249)"
    page.emulate_media(color_scheme="dark")
    assert page.evaluate(background) == "rgb(18, 21, 28)"
    panel = page.locator("section.login")
    assert panel.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(27, 32, 41)"
    shoot(page, "login-dark")


def test_unknown_pages_and_the_favicon(page: Page, loom: Deployment) -> None:
    reply = page.goto(f"{loom.url}/no/such/page")
    assert reply is not None
    assert reply.status == 404
    expect(page.get_by_role("heading", name=re.compile("404"))).to_be_visible()
    icon = page.request.get(f"{loom.url}/ui-static/favicon.svg")
    assert icon.status == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
