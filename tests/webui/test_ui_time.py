"""Timestamps read the same on every page: ``<time datetime="…Z">… UTC</time>``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from flask import Flask
from flask.testing import FlaskClient

from tests.webui.test_ui_runs import EXTRACT_PAGE, RUN_PAGE, html, second_try, started_run
from tests.webui.ui import ui_sign_in
from tests.webui.world import T0
from webui.ui.present import when, when_text

TIME = re.compile(r'<time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)">([^<]*)</time>')


def test_a_timestamp_reads_in_utc_whatever_zone_it_came_in() -> None:
    paris = timezone(timedelta(hours=1))
    expected = '<time datetime="2026-01-05T10:00:00Z">2026-01-05 10:00:00 UTC</time>'
    assert when(datetime(2026, 1, 5, 11, tzinfo=paris)) == expected
    assert when(datetime(2026, 1, 5, 10)) == expected  # naive: UTC, as SQLite returns it
    assert when("2026-01-05T10:00:00+00:00") == expected  # kept in JSON
    assert when("not a date") == "not a date"
    assert when(None) == "—"
    assert when_text(datetime(2026, 1, 5, 10, tzinfo=UTC)) == "2026-01-05 10:00:00 UTC"


def test_pages_carry_every_timestamp_in_one_format(app: Flask, client: FlaskClient) -> None:
    started_run(app, T0)
    second_try(app)
    ui_sign_in(client, "Admin")
    for url in (RUN_PAGE, EXTRACT_PAGE, "/dags/example/runs", "/audit"):
        page = html(client, url)
        found = TIME.findall(page)
        assert found, url
        for iso, text in found:
            moment = datetime.fromisoformat(iso)
            assert text == moment.strftime("%Y-%m-%d %H:%M:%S UTC"), url
    assert '<select id="time-zone"' in html(client, RUN_PAGE)  # the zone picker, everywhere


def test_the_log_says_when_its_try_started(app: Flask, client: FlaskClient) -> None:
    second_try(app, state="running")
    ui_sign_in(client, "Viewer")
    page = html(client, EXTRACT_PAGE)
    head = f"Try 2 started {when(T0)} (each line starts with the time it was written, in UTC)"
    assert f'<p class="muted log-head">{head}</p>' in page
    # The live fragment (for a page opened before the try began) says it too.
    fragment = html(client, "/dags/example/task-log-live/extract/manual__1")
    assert f'<p class="muted log-head">Try 2, started {when(T0)}, still running</p>' in fragment
