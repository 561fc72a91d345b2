"""The logs endpoint answers whole lines: a running try's line still being written comes
whole, stamp and all, in a later answer; the UI's follower gets the text as it is."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask

from engine.timeutil import log_time
from tests.webui.conftest import bearer, login, template_app
from tests.webui.ui import ui_sign_in
from tests.webui.world import app_session, attempt_of

LOG_PATH = "/api/v2/dags/example/dagRuns/manual__1/taskInstances/extract/logs/1"
UI_PATH = "/dags/example/task-try-log/extract/1/manual__1"
FIRST = "2026-12-05 07:42:11,123 first line\n"
SECOND = "2026-12-05 07:42:12,456 second line\n"


def set_log(app: Flask, log: str, state: str) -> None:
    """``extract``'s try 1 has written ``log`` and is in ``state``."""
    with app_session(app) as session:
        attempt = attempt_of(session, "extract", 1)
        attempt.log, attempt.log_start, attempt.state = log, 0, state


def answer(app: Flask, token: int | None = None) -> dict[str, Any]:
    client = app.test_client()
    headers = bearer(login(client, "admin")["access_token"])
    query = "" if token is None else f"?token={token}"
    body: dict[str, Any] = client.get(LOG_PATH + query, headers=headers).get_json()
    return body


def events(app: Flask, token: int | None = None) -> tuple[list[str], int]:
    """Each line as it was written (its time put back in front), and the next token."""
    body = answer(app, token)
    lines = [
        f"{_stamp(line['timestamp'])} {line['event']}" if "timestamp" in line else line["event"]
        for line in body["content"]
    ]
    return lines, int(body["continuation_token"])


def _stamp(iso: str) -> str:
    return log_time(datetime.fromisoformat(iso))


def test_a_running_try_s_unfinished_line_comes_whole_in_a_later_answer(
    template: Path, tmp_path: Path
) -> None:
    app = template_app(template, tmp_path)
    set_log(app, FIRST + SECOND[:30], "running")
    assert events(app) == ([FIRST.rstrip("\n")], len(FIRST))
    browser = app.test_client()
    ui_sign_in(browser, "Admin")
    assert browser.get(UI_PATH).get_json()["content"] == FIRST + SECOND[:30]  # appended as is

    set_log(app, FIRST + SECOND, "running")
    assert events(app, len(FIRST)) == ([SECOND.rstrip("\n")], len(FIRST + SECOND))


def test_a_finished_try_s_last_line_is_answered_without_its_end(
    template: Path, tmp_path: Path
) -> None:
    app = template_app(template, tmp_path)
    set_log(app, FIRST + "no newline at the end", "failed")
    assert events(app) == (
        [FIRST.rstrip("\n"), "no newline at the end"],
        len(FIRST + "no newline at the end"),
    )


def test_a_line_s_time_is_apart_as_in_airflow(template: Path, tmp_path: Path) -> None:
    """Airflow's structured message: the text in ``event``, its time in ``timestamp``."""
    app = template_app(template, tmp_path)
    set_log(app, FIRST + "Traceback (most recent call last):\n", "failed")
    first, traceback = answer(app)["content"]
    assert first == {"event": "first line", "timestamp": "2026-12-05T07:42:11.123000Z"}
    assert traceback == {"event": "Traceback (most recent call last):"}  # no time of its own
