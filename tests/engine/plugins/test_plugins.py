"""Plugins: loading, errors that name the file and attribute, macros and filters in
rendering, timetables as schedules, listeners after a worker's try, and UI links."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.authoring.macros import BUILTIN_MACROS
from engine.authoring.schedules import (
    deserialize_schedule,
    next_run,
    parse_schedule,
    restriction,
    serialize_schedule,
)
from engine.authoring.templating import render_string
from engine.errors import PluginError
from engine.plugins.loading import forget_plugins, load_plugins

EXAMPLE = Path(__file__).resolve().parents[3] / "plugins"


@pytest.fixture(autouse=True)
def _fresh_plugins() -> Iterator[None]:
    forget_plugins()
    yield
    forget_plugins()


def write_plugin(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text("from engine import LoomPlugin\n" + body, encoding="utf-8")
    return path


def test_the_example_plugin_loads_with_its_macro_filter_listener_and_link() -> None:
    registry = load_plugins(EXAMPLE)
    assert [p.name for p in registry.plugins] == ["example"]
    assert registry.macros["example"].days_between("2024-01-03", "2024-01-01") == 2
    assert set(registry.template_filters) == {"shout"}
    assert len(registry.listeners) == 1
    assert [link.name for link in registry.ui_links] == ["Loom docs"]


def test_a_missing_folder_holds_no_plugins(tmp_path: Path) -> None:
    assert load_plugins(tmp_path / "none").plugins == ()


def test_macros_and_filters_reach_rendering() -> None:
    load_plugins(EXAMPLE)
    from engine.plugins.registry import active_plugins

    context = {"macros": {**BUILTIN_MACROS, **active_plugins().macros}, "who": "ada"}
    text = "{{ macros.example.days_between('2024-01-11', '2024-01-01') }} {{ who | shout }}"
    assert render_string(text, context, where="t") == "10 ADA!"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("class P(LoomPlugin):\n    name = 'p'\n    flask_blueprints = []\n",
         "P: flask_blueprints is not a plugin attribute Loom knows"),
        ("class P(LoomPlugin):\n    name = 'p'\n    macros = ['x']\n",
         "P: macros[0] must be a function, not str"),
        ("class P(LoomPlugin):\n    name = ''\n", "P: name must be a name"),
        ("class P(LoomPlugin):\n    name = 'p'\n    template_filters = {'upper': str}\n",
         "'upper' is a built-in filter"),
        ("class P(LoomPlugin):\n    name = 'p'\n    listeners = [object()]\n",
         "P: listeners[0] defines none of on_task_instance_running"),
        ("class P(LoomPlugin):\n    name = 'p'\n"
         "    ui_links = [{'name': 'x', 'href': 'javascript:1'}]\n",
         "P: ui_links[0]: href must start with"),
        ("raise RuntimeError('boom')\n", "failed to import: RuntimeError: boom"),
    ],
)  # fmt: skip
def test_a_bad_plugin_is_an_error_naming_file_and_attribute(
    tmp_path: Path, body: str, problem: str
) -> None:
    path = write_plugin(tmp_path / "plugins", "bad_plugin_file", body)
    with pytest.raises(PluginError) as caught:
        load_plugins(path.parent)
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)
    with pytest.raises(PluginError, match="bad_plugin_file"):
        load_plugins(path.parent)  # the process keeps the error


TIMETABLE = """
from datetime import timedelta
from engine import DagRunInfo, DataInterval, Timetable

class EveryHours(Timetable):
    def __init__(self, hours):
        self.hours = hours
        self.description = f"every {hours}h"
    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        last = last_automated_data_interval
        start = last.end if last else restriction.earliest
        return DagRunInfo.interval(start, start + timedelta(hours=self.hours))
    def infer_manual_data_interval(self, *, run_after):
        return DataInterval(run_after - timedelta(hours=self.hours), run_after)
    def serialize(self):
        return {"hours": self.hours}
    @classmethod
    def deserialize(cls, data):
        return cls(data["hours"])

class NotATimetable:
    pass

class TimetablePlugin(LoomPlugin):
    name = "hours"
    timetables = [EveryHours]
"""


def test_a_registered_timetable_is_a_schedule_that_survives_serialization(
    tmp_path: Path,
) -> None:
    load_plugins(write_plugin(tmp_path / "plugins", "hours_plugin", TIMETABLE).parent)
    import hours_plugin  # type: ignore[import-not-found]

    schedule = parse_schedule(hours_plugin.EveryHours(6))
    data = serialize_schedule(schedule)
    assert data == {"kind": "timetable", "class": "hours_plugin.EveryHours", "data": {"hours": 6}}
    again = deserialize_schedule(data)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    info = next_run(again, last=None, restriction=restriction(start, None, True), now=start)
    assert info is not None
    assert info.data_interval.end.hour == 6
    assert again.description == "every 6h"


def test_a_timetable_that_is_not_a_timetable_subclass_is_a_plugin_error(tmp_path: Path) -> None:
    body = TIMETABLE.replace("timetables = [EveryHours]", "timetables = [NotATimetable]")
    with pytest.raises(PluginError, match=r"timetables\[0\] \(NotATimetable\) must subclass"):
        load_plugins(write_plugin(tmp_path / "plugins", "bad_hours", body).parent)
