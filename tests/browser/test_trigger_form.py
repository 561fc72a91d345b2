"""The trigger form generated from a DAG's params, filled in a real Chromium: a select
with display labels, a date picker, a number out of range refused next to its field with
every value kept, then the fixed form creates the run with the right conf."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Deployment, open_as, parsed_dag, shoot

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

FORM_DAG = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, EmptyOperator, Param

    with DAG("form_browser", schedule=None, start_date=datetime(2026, 1, 1), params={
        "size": Param(5, type="integer", minimum=1, maximum=10, title="Batch size",
                      description="How many rows at once.", section="Numbers"),
        "env": Param("staging", type="string", enum=["staging", "production"],
                     values_display={"staging": "Staging", "production": "Production (careful)"},
                     title="Environment", section="Where"),
        "day": Param("2026-01-05", type="string", format="date", title="Day", section="Where"),
        "notes": Param("first\\nsecond", type=["string", "null"], format="multiline",
                       description_md="Free **text**, kept with its newlines."),
        "options": Param({"retries": 1}, type="object", title="Options"),
        "loud": Param(False, type="boolean", title="Loud"),
    }) as dag:
        EmptyOperator(task_id="a")
    """
)


form_dag = parsed_dag("form_dags.py", FORM_DAG, "form_browser")


def test_the_generated_form_refuses_a_bad_number_keeps_the_values_then_triggers(
    page: Page, loom: Deployment, form_dag: str
) -> None:
    open_as(page, loom, "user", f"/dags/{form_dag}/trigger")
    expect(page.get_by_role("group", name="Numbers")).to_be_visible()
    expect(page.get_by_role("group", name="Where")).to_be_visible()
    expect(page.locator(".param-doc strong")).to_have_text("text")  # description_md
    expect(page.get_by_label("Conf (raw JSON)")).to_be_hidden()  # the form is the default
    page.get_by_label("Environment").select_option(label="Production (careful)")
    page.get_by_label("Day").fill("2026-03-14")
    page.get_by_label("Batch size").fill("42")
    page.get_by_label("Loud").check()
    page.get_by_label("Options").fill('{"retries": 3, "fast": true}')
    shoot(page, "trigger-form-filled")
    page.get_by_role("button", name="Trigger").click()

    size_error = page.locator("#param\\.size-error")
    expect(size_error).to_have_text(re.compile("must be at most 10"))
    expect(page.get_by_label("Batch size")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Batch size")).to_have_value("42")
    expect(page.get_by_label("Environment")).to_have_value('"production"')
    expect(page.get_by_label("Day")).to_have_value("2026-03-14")
    expect(page.get_by_label("Loud")).to_be_checked()
    expect(page.get_by_label("Options")).to_have_value('{"retries": 3, "fast": true}')
    shoot(page, "trigger-form-refused")

    page.get_by_label("Batch size").fill("7")
    page.get_by_role("button", name="Trigger").click()
    expect(page).to_have_url(re.compile(f"/dags/{form_dag}/runs/manual__"))
    run_id = page.url.rsplit("/", 1)[1]
    shown = json.loads(loom.loom("runs", "show", form_dag, run_id, "-o", "json"))
    assert shown["conf"] == {
        "size": 7,
        "env": "production",
        "day": "2026-03-14",
        "notes": "first\nsecond",
        "options": {"retries": 3, "fast": True},
        "loud": True,
    }


def test_the_raw_json_view_is_the_alternative(page: Page, loom: Deployment, form_dag: str) -> None:
    open_as(page, loom, "user", f"/dags/{form_dag}/trigger")
    page.get_by_role("radio", name="raw JSON").check()
    expect(page.get_by_label("Batch size")).to_be_hidden()
    conf = page.get_by_label("Conf (raw JSON)")
    conf.fill('{"size": 0, "env": "nowhere"}')
    page.get_by_role("button", name="Trigger").click()
    expect(page.locator("#param\\.size-error")).to_have_text(re.compile("must be at least 1"))
    expect(page.locator("#param\\.env-error")).to_have_text(re.compile("must be one of"))
    expect(page.get_by_label("Conf (raw JSON)")).to_have_value('{"size": 0, "env": "nowhere"}')


def test_the_dag_page_describes_the_schedule_and_its_next_runs(
    page: Page, loom: Deployment
) -> None:
    open_as(page, loom, "viewer", "/dags/nightly")
    expect(page.locator(".schedule-words")).to_have_text("At 00:00 (UTC)")
    upcoming = page.get_by_role("list", name="Next runs").get_by_role("listitem")
    expect(upcoming).to_have_count(5)
    expect(upcoming.first).to_contain_text("00:00 UTC")
    shoot(page, "dag-schedule-next-runs")
