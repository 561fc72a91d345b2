"""Plugins at work: listeners hear a worker's try after its commits; the UI shows links."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.plugins.base import TaskInstanceEvent
from engine.plugins.loading import forget_plugins
from engine.state import TaskInstanceState
from tests.webui.conftest import template_app
from tests.webui.ui import ui_sign_in
from tests.workers.conftest import Sessions, load_ti, queued
from workers import RunnerContext, run_task

HEARD: list[TaskInstanceEvent] = []

LISTENER_PLUGIN = """
from engine import LoomPlugin
from tests.engine.plugins.test_plugin_effects import HEARD

class Recorder:
    def on_task_instance_running(self, event):
        HEARD.append(event)
    def on_task_instance_success(self, event):
        HEARD.append(event)
    def on_task_instance_failed(self, event):
        raise RuntimeError("a broken listener changes nothing")

class ListenerPlugin(LoomPlugin):
    name = "recorder"
    listeners = [Recorder()]
    ui_links = [{"name": "Team runbook", "href": "https://runbook.example.com/"}]
"""


@pytest.fixture(autouse=True)
def _fresh_plugins() -> Iterator[None]:
    forget_plugins()
    HEARD.clear()
    yield
    forget_plugins()


@pytest.fixture
def plugins_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "recorder_plugin.py").write_text(LISTENER_PLUGIN, encoding="utf-8")
    return folder


@pytest.fixture
def plugin_ctx(ctx: RunnerContext, plugins_folder: Path) -> RunnerContext:
    """A runner that loads the listener plugin."""
    ctx.settings = dataclasses.replace(ctx.settings, plugins_folder=plugins_folder)
    return ctx


def test_listeners_hear_running_and_success_after_each_commit(
    sessions: Sessions, plugin_ctx: RunnerContext
) -> None:
    ti_id, try_number = queued(sessions, "produce")

    assert run_task(ti_id, try_number, ctx=plugin_ctx) is TaskInstanceState.SUCCESS

    assert [(e.task_id, e.previous_state, e.state) for e in HEARD] == [
        ("produce", "queued", "running"),
        ("produce", "running", "success"),
    ]
    assert HEARD[-1].try_number == try_number


def test_a_listener_that_raises_changes_nothing_about_the_try(
    sessions: Sessions, plugin_ctx: RunnerContext
) -> None:
    ti_id, try_number = queued(sessions, "final")

    assert run_task(ti_id, try_number, ctx=plugin_ctx) is TaskInstanceState.FAILED

    assert [(e.task_id, e.state) for e in HEARD] == [("final", "running")]
    assert load_ti(sessions, ti_id).state == TaskInstanceState.FAILED


def test_ui_links_appear_in_the_navigation_of_a_signed_in_page(
    template: Path, tmp_path: Path, plugins_folder: Path
) -> None:
    app = template_app(template, tmp_path, core={"plugins_folder": str(plugins_folder)})
    client = app.test_client()
    ui_sign_in(client, "Viewer")

    page = client.get("/dags").get_data(as_text=True)

    assert '<a class="plugin-link" href="https://runbook.example.com/">Team runbook</a>' in page
