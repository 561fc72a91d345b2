"""Variables and connections through the UI, the CLI and back, on a running Loom."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.browser.conftest import Deployment, open_as, shoot


def test_variables_and_connections_round_trip(page: Page, loom: Deployment) -> None:
    open_as(page, loom, "admin", "/variables")
    page.get_by_label("Key", exact=True).fill("ui_bucket")
    page.get_by_label("Value", exact=True).fill("raw-from-ui")
    page.get_by_role("button", name="Create variable").click()
    expect(page.get_by_text("variable ui_bucket created")).to_be_visible()
    assert loom.loom("variables", "get", "ui_bucket").strip() == "raw-from-ui"
    listed = json.loads(loom.loom("variables", "list", "-o", "json"))
    assert {"key": "ui_bucket", "description": None, "is_encrypted": True} in listed

    loom.loom("connections", "add", "cli_db", "--conn-uri", "postgresql://me:s3cret-pw@db/dw")
    page.goto(f"{loom.url}/connections")
    row = page.locator('tr[data-connection="cli_db"]')
    expect(row).to_contain_text("db")
    assert "s3cret-pw" not in page.content()
    page.goto(f"{loom.url}/connections/cli_db")
    page.get_by_label("Host", exact=True).fill("db2")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("connection cli_db saved")).to_be_visible()
    shoot(page, "connections")
    got = json.loads(loom.loom("connections", "get", "cli_db", "-o", "json"))
    assert (got["host"], got["password"]) == ("db2", "s3cret-pw")  # a blank password kept it

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete connection cli_db").click()
    expect(page.get_by_text("connection cli_db deleted")).to_be_visible()
    assert "cli_db" not in loom.loom("connections", "list")
