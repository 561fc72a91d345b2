"""A DAG's display name, owners' links and rendered doc_md in a real Chromium."""

from __future__ import annotations

import re
import textwrap

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Deployment, open_as, parsed_dag, shoot

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

SHOWN = textwrap.dedent(
    '''
    from datetime import datetime
    from engine import DAG, EmptyOperator

    DOC = """# Orders, nightly

    Loads **orders**; see [the runbook](https://wiki.example/orders).
    <img src=x onerror="window.pwned = 1"><script>window.pwned = 2</script>
    """

    with DAG("shown_browser", schedule=None, start_date=datetime(2026, 1, 1),
             dag_display_name="Nightly orders", doc_md=DOC,
             owner_links={"ann": "https://wiki.example/ann"},
             default_args={"owner": "ann"}) as dag:
        EmptyOperator(task_id="a")
    '''
)


shown = parsed_dag("shown_dags.py", SHOWN, "shown_browser")


def test_the_list_shows_the_display_name_and_links_the_owner(
    page: Page, loom: Deployment, shown: str
) -> None:
    open_as(page, loom, "viewer", "/dags?search=shown")
    row = page.locator(f"tr[data-dag='{shown}']")
    expect(row.get_by_role("link", name="Nightly orders")).to_be_visible()
    owner = row.get_by_role("link", name="ann")
    expect(owner).to_have_attribute("href", "https://wiki.example/ann")
    shoot(page, "dag-details-list")
    row.get_by_role("link", name="Nightly orders").click()
    expect(page).to_have_url(re.compile(f"/dags/{shown}$"))


def test_the_dag_page_has_the_display_name_and_renders_doc_md_safely(
    page: Page, loom: Deployment, shown: str
) -> None:
    open_as(page, loom, "viewer", f"/dags/{shown}")
    expect(page).to_have_title(re.compile(r"^Nightly orders · Loom$"))
    expect(page.get_by_role("heading", level=1, name=re.compile("^Nightly orders"))).to_be_visible()
    docs = page.get_by_role("region", name="Documentation of Nightly orders")
    expect(docs.get_by_role("heading", name="Orders, nightly")).to_be_visible()
    expect(docs.locator("strong")).to_have_text("orders")
    expect(docs.get_by_role("link", name="the runbook")).to_have_attribute(
        "href", "https://wiki.example/orders"
    )
    expect(docs).to_contain_text("<script>window.pwned = 2</script>")  # shown, not run
    assert docs.locator("img, script").count() == 0
    assert page.evaluate("window.pwned === undefined")
    expect(page.locator(".dag-facts").get_by_role("link", name="ann")).to_have_attribute(
        "href", "https://wiki.example/ann"
    )
    shoot(page, "dag-details-page")
