"""The web UI in a real Chromium against a real Loom: scheduler, RQ worker, gunicorn."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import Deployment, open_as, shoot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

RUN_TIMEOUT_MS = 60_000


def runs_of(loom: Deployment, dag_id: str) -> dict[str, str]:
    listed = json.loads(loom.loom("runs", "list", dag_id, "-o", "json"))
    return {run["run_id"]: run["state"] for run in listed}


def accept_dialogs(page: Page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def trigger_from_list(page: Page, dag_id: str) -> str:
    """Trigger ``dag_id`` from the DAG list with its default conf; the new run's id."""
    page.get_by_role("link", name=f"Trigger {dag_id}").click()
    expect(page.get_by_role("heading", name=re.compile(f"Trigger {dag_id}"))).to_be_visible()
    page.get_by_role("button", name="Trigger").click()
    expect(page).to_have_url(re.compile(f"/dags/{dag_id}/runs/"))
    return page.url.rsplit("/runs/", 1)[1]


def failed_fragile_run(page: Page, loom: Deployment) -> str:
    """As admin, trigger ``fragile`` without its marker file and wait until the run fails;
    its run id (confirmation dialogs are accepted from then on)."""
    loom.marker.unlink(missing_ok=True)
    accept_dialogs(page)
    sign_in(page, loom, "admin")
    run_id = trigger_from_list(page, "fragile")
    expect(page.locator(".run-state")).to_have_text(re.compile("failed"), timeout=RUN_TIMEOUT_MS)
    return run_id


def test_sign_in_lists_dags_and_import_errors(page: Page, loom: Deployment) -> None:
    page.goto(f"{loom.url}/dags")
    expect(page).to_have_url(re.compile("/login"))
    shoot(page, "login")
    sign_in(page, loom, "admin")
    for dag_id in ("greet", "fragile", "nightly"):
        expect(page.get_by_role("link", name=dag_id, exact=True)).to_be_visible()
    banner = page.get_by_role("alert", name="Import errors")
    expect(banner).to_contain_text("broken.py")
    shoot(page, "dags")
    banner.get_by_role("link", name=re.compile("broken.py")).click()
    expect(page.get_by_text("SyntaxError").first).to_be_visible()
    shoot(page, "import-error")


def test_trigger_and_watch_the_run_succeed(page: Page, loom: Deployment) -> None:
    sign_in(page, loom, "admin")
    page.get_by_role("link", name="Trigger greet").click()
    page.get_by_role("radio", name="raw JSON").check()  # the params' form is the default
    conf = page.get_by_label("Conf (raw JSON)")
    expect(conf).to_have_value(re.compile(r'"name": "world"'))
    shoot(page, "trigger")
    conf.fill('{"name": 5}')  # not a string: refused next to the field
    page.get_by_role("button", name="Trigger").click()
    expect(page.locator(".field-error").filter(has_text=re.compile("name"))).to_be_visible()
    conf.fill('{"name": "browser"}')
    page.get_by_role("button", name="Trigger").click()
    expect(page).to_have_url(re.compile("/dags/greet/runs/"))

    # The page is not reloaded: the live fragment brings the states as they change
    # (``done`` sleeps 2 s, so the page first shows the run unfinished).
    expect(page.locator(".run-state")).not_to_have_text(re.compile("success"))
    page.evaluate("window.loomNotReloaded = true")
    expect(page.locator(".run-state")).to_have_text(re.compile("success"), timeout=RUN_TIMEOUT_MS)
    assert page.evaluate("window.loomNotReloaded === true")
    shoot(page, "run")
    page.get_by_role("link", name="hello", exact=True).first.click()
    expect(page.locator("pre.log")).to_contain_text("hello browser")
    shoot(page, "task-instance")

    page.goto(f"{loom.url}/dags/greet")
    expect(page.get_by_role("grid")).to_be_visible()
    shoot(page, "grid")
    page.goto(f"{loom.url}/dags/greet/graph")
    expect(page.locator("svg.graph")).to_be_visible()
    shoot(page, "graph")
    page.goto(f"{loom.url}/dags/greet/code")
    expect(page.get_by_text("bash_command").first).to_be_visible()
    shoot(page, "code")


def test_failed_task_log_then_clear_and_rerun(page: Page, loom: Deployment) -> None:
    run_id = failed_fragile_run(page, loom)
    page.get_by_role("link", name="check", exact=True).first.click()
    expect(page.locator("pre.log")).to_contain_text("the marker file is missing")
    shoot(page, "failed-task-log")

    loom.marker.touch()
    page.get_by_role("button", name=re.compile("^Clear")).first.click()
    page.goto(f"{loom.url}/dags/fragile/runs/{run_id}")
    expect(page.locator(".run-state")).to_have_text(re.compile("success"), timeout=RUN_TIMEOUT_MS)
    assert runs_of(loom, "fragile")[run_id] == "success"


def test_replay_a_dead_letter(page: Page, loom: Deployment) -> None:
    run_id = failed_fragile_run(page, loom)

    loom.marker.touch()
    page.get_by_role("link", name="Dead letters").click()
    shoot(page, "dead-letters")
    row = page.locator("tr", has_text=run_id).filter(has_text="pending")
    row.get_by_role("link").first.click()
    shoot(page, "dead-letter")
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_text("replayed").first).to_be_visible()
    page.goto(f"{loom.url}/dags/fragile/runs/{run_id}")
    expect(page.locator(".run-state")).to_have_text(re.compile("success"), timeout=RUN_TIMEOUT_MS)
    assert runs_of(loom, "fragile")[run_id] == "success"
    page.goto(f"{loom.url}/dags/fragile")  # the replayed run's cells read success
    check = f"task check, run {run_id}: success (try 2)"  # the replay was its second try
    expect(page.get_by_role("gridcell", name=check, exact=True)).to_be_visible()
    report = f"task report, run {run_id}: success"
    expect(page.get_by_role("gridcell", name=report, exact=True)).to_be_visible()
    shoot(page, "grid-fragile")


def test_admin_pages(page: Page, loom: Deployment) -> None:
    sign_in(page, loom, "admin")
    for link, heading in [
        ("Assets", "Assets"),
        ("Alerts", "Alerts"),
        ("Pools", "Pools"),
        ("Variables", "Variables"),
        ("Connections", "Connections"),
        ("Audit log", "Audit log"),
        ("Users", "Users"),
        ("Roles", "Roles"),
    ]:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", name=heading).first).to_be_visible()
        shoot(page, link)


def test_the_dag_list_works_from_the_keyboard(page: Page, loom: Deployment) -> None:
    sign_in(page, loom, "admin")
    trigger = page.get_by_role("link", name="Trigger greet")
    for _ in range(60):  # Tab through the page until the trigger link has the focus
        page.keyboard.press("Tab")
        if trigger.evaluate("link => link === document.activeElement"):
            break
    else:
        raise AssertionError("Tab never reached the Trigger greet link")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Trigger greet")).to_be_visible()


def test_viewer_sees_no_trigger_and_a_forged_post_is_refused(page: Page, loom: Deployment) -> None:
    sign_in(page, loom, "viewer")
    expect(page.get_by_role("link", name="greet", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Trigger"))).to_have_count(0)
    shoot(page, "dags-as-viewer")
    before = runs_of(loom, "greet")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    forged = page.request.post(
        f"{loom.url}/dags/greet/trigger", form={"csrf_token": token or "", "conf": "{}"}
    )
    assert forged.status == 403
    assert runs_of(loom, "greet") == before


def test_a_form_without_its_csrf_token_is_refused(page: Page, loom: Deployment) -> None:
    sign_in(page, loom, "admin")
    refused = page.request.post(f"{loom.url}/dags/nightly/pause", form={"paused": "false"})
    assert refused.status == 400
    listed = json.loads(loom.loom("dags", "list", "-o", "json"))
    assert next(d for d in listed if d["dag_id"] == "nightly")["paused"] is True


def test_sign_out_ends_the_session(page: Page, loom: Deployment, browser: Browser) -> None:
    sign_in(page, loom, "op")
    cookies = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile("/login"))
    page.goto(f"{loom.url}/dags")
    expect(page).to_have_url(re.compile("/login"))

    # The old cookies, replayed in another browser context, are revoked too.
    other = browser.new_context()
    try:
        other.add_cookies(cookies)  # type: ignore[arg-type]
        stale = other.new_page()
        stale.goto(f"{loom.url}/dags")
        expect(stale).to_have_url(re.compile("/login"))
    finally:
        other.close()


def test_the_api_docs_work_offline_under_the_csp(page: Page, loom: Deployment) -> None:
    """Swagger UI comes from the webserver: with every other site unreachable, the
    operations are listed and can be tried."""
    elsewhere: list[str] = []

    def local_only(route: Route) -> None:
        if route.request.url.startswith(loom.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.goto(f"{loom.url}/api/v2/docs")
    expect(page.get_by_role("heading", name=re.compile("Loom REST API"))).to_be_visible()
    version = page.locator(".opblock", has_text="/api/v2/version").first
    version.locator(".opblock-summary").click()
    version.get_by_role("button", name="Try it out").click()
    version.get_by_role("button", name="Execute").click()
    expect(version.locator(".response .response-col_status").first).to_contain_text("200")
    shoot(page, "api-docs")
    assert elsewhere == []


def test_a_run_shows_its_dag_version_and_links_to_that_versions_code(
    page: Page, loom: Deployment
) -> None:
    dag_file = loom.dags_folder / "versioned_dag.py"
    body = (
        "from datetime import datetime\n"
        "from engine import DAG, EmptyOperator, chain\n"
        "with DAG('versioned', schedule=None, start_date=datetime(2026, 1, 1)) as dag:\n"
        "    chain(*[EmptyOperator(task_id=t) for t in {tasks!r}])\n"
    )
    dag_file.write_text(body.format(tasks=["first", "second"]))
    loom.loom("dags", "reparse")
    loom.loom("dags", "trigger", "versioned", "--run-id", "on_v1")
    dag_file.write_text(body.format(tasks=["first", "second", "third"]))
    loom.loom("dags", "reparse")
    versions = json.loads(loom.loom("dags", "versions", "versioned", "-o", "json"))
    assert [v["version"] for v in versions] == [2, 1]

    open_as(page, loom, "viewer", "/dags/versioned/runs/on_v1")
    page.get_by_role("link", name="version 1").click()
    expect(page).to_have_url(re.compile(r"/dags/versioned/code\?version=1"))
    expect(page.get_by_text("as parsed into version 1 of the DAG")).to_be_visible()
    expect(page.get_by_label("Version", exact=True)).to_have_value("1")
    expect(page.locator(".source")).not_to_contain_text("third")
    shoot(page, "code-version")
    page.get_by_label("Version", exact=True).select_option("2")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".source")).to_contain_text("third")
