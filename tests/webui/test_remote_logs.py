"""The logs endpoint and the UI's log view read what the database keeps only the tail of
from the remote store (moto in server mode), and say so when the store is unreachable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from engine.execution.remotelogs import S3LogStore
from tests.support.aws import LOG_BUCKET
from tests.support.network import free_port
from tests.webui.conftest import bearer, login, template_app
from tests.webui.ui import ui_sign_in
from tests.webui.world import app_session, attempt_of

URL = f"s3://{LOG_BUCKET}/prod/example/manual__1/extract/-1/try_1.log"
EARLY = "".join(f"early line {n}\n" for n in range(50))
LOG_PATH = "/api/v2/dags/example/dagRuns/manual__1/taskInstances/extract/logs/1"
UI_PATH = "/dags/example/task-try-log/extract/1/manual__1"


def offloaded_app(template: Path, tmp_path: Path, endpoint: str) -> tuple[Flask, str]:
    """An app whose ``extract`` try 1 keeps only its tail, the whole log at ``URL``; the tail."""
    remote = {"remote_base_url": f"s3://{LOG_BUCKET}/prod", "remote_endpoint_url": endpoint}
    app = template_app(template, tmp_path, logging=remote)
    with app_session(app) as session:
        attempt = attempt_of(session, "extract", 1)
        tail = attempt.log or ""
        attempt.log_remote_url, attempt.log_remote_start = URL, 0
        attempt.log_start = len(EARLY)
    return app, tail


def get_log(app: Flask, path: str) -> Any:
    client = app.test_client()
    headers = bearer(login(client, "admin")["access_token"])
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_api_returns_the_whole_log_from_the_store(
    template: Path, tmp_path: Path, s3: S3LogStore, moto_url: str
) -> None:
    app, tail = offloaded_app(template, tmp_path, moto_url)
    s3.put(URL, EARLY + tail)

    body = get_log(app, LOG_PATH)

    assert [line["event"] for line in body["content"]] == (EARLY + tail).splitlines()
    assert body["continuation_token"] == str(len(EARLY + tail))
    # A continuation token inside the tail reads the database alone.
    later = get_log(app, f"{LOG_PATH}?token={len(EARLY)}")
    assert [line["event"] for line in later["content"]] == tail.splitlines()


def test_with_the_store_down_the_api_and_the_ui_show_the_tail_and_a_note(
    template: Path, tmp_path: Path, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in aws.items():
        monkeypatch.setenv(name, value)
    app, tail = offloaded_app(template, tmp_path, f"http://127.0.0.1:{free_port()}")

    body = get_log(app, LOG_PATH)

    note, *lines = body["content"]
    assert [line["event"] for line in lines] == tail.splitlines()
    assert note["level"] == "warning"
    assert URL in note["event"]
    assert "could not be read" in note["event"]
    assert f"first {len(EARLY)} characters" in note["event"]
    browser = app.test_client()
    ui_sign_in(browser, "Admin")
    ui = browser.get(UI_PATH).get_json()
    assert ui["content"] == tail
    assert URL in ui["note"]
    page = browser.get("/dags/example/runs/manual__1/tasks/extract?try=1").get_data(as_text=True)
    assert 'class="log-note"' in page


def test_a_log_past_remote_max_bytes_reads_as_its_head_a_note_and_its_tail(
    template: Path, tmp_path: Path, s3: S3LogStore, moto_url: str
) -> None:
    app, tail = offloaded_app(template, tmp_path, moto_url)
    head, missing = EARLY[:100], len(EARLY) - 100  # the store holds only the log's head
    s3.put(URL, head)

    body = get_log(app, LOG_PATH)

    note, *lines = body["content"]
    assert note["level"] == "warning"
    assert f"characters 100 to {len(EARLY)} of it were not kept" in note["event"]
    assert [line["event"] for line in lines] == (head + tail).splitlines()
    assert body["continuation_token"] == str(len(EARLY + tail))
    # A token inside the missing part continues with the tail, where it starts.
    later = get_log(app, f"{LOG_PATH}?token={100 + missing // 2}")
    assert [line["event"] for line in later["content"]] == tail.splitlines()
    browser = app.test_client()
    ui_sign_in(browser, "Admin")
    ui = browser.get(UI_PATH).get_json()
    assert (ui["content"], ui["offset"]) == (head + tail, 0)
    assert ui["next_offset"] == len(EARLY + tail)
    assert "logging.remote_max_bytes" in ui["note"]
