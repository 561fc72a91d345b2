"""The trigger form's fields from params, and conf from what the form sends (pure logic;
the page itself is tested in tests/browser/test_trigger_form.py)."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from engine.authoring.params import Param
from webui.ui.viewmodels.trigger_form import build_sections, conf_from_form

PARAMS = {
    "pick": Param(3, type=["number", "null"], enum=[1, 3, None],
                  values_display={1: "One", 3: "Three", None: "Nothing"}, section="Choices"),
    "many": Param(["b"], type="array", examples=["a", "b", "c"], section="Choices"),
    "names": Param(["x", "y"], type="array"),
    "numbers": Param([1, 2], type="array", items={"type": "number"}),
    "batch": Param(1000, type=["integer", "string"]),
    "at": Param("2026-01-05T12:17:00+00:00", type="string", format="date-time"),
    "when": Param("12:13:14", type="string", format="time"),
    "flag": Param(True, type="boolean"),
    "hidden": Param("fixed", const="fixed"),
    "ratio": Param(0.5, type="number"),
}  # fmt: skip


def widgets() -> dict[str, str]:
    return {f.name: f.widget for s in build_sections(PARAMS, None) for f in s.fields}


def test_each_param_gets_the_widget_its_schema_suggests_and_const_is_hidden() -> None:
    assert widgets() == {
        "pick": "select", "many": "multiselect", "names": "lines", "numbers": "json",
        "batch": "text", "at": "datetime", "when": "time", "flag": "checkbox", "ratio": "number",
    }  # fmt: skip
    sections = build_sections(PARAMS, None)
    assert [s.name for s in sections] == ["Choices", None]
    pick = sections[0].fields[0]
    assert pick.options == [("1", "One"), ("3", "Three"), ("null", "Nothing")]
    assert pick.text == "3"
    at = next(f for f in sections[1].fields if f.name == "at")
    assert at.text == "2026-01-05T12:17"


def test_conf_is_read_back_from_the_fields() -> None:
    sent = MultiDict(
        [
            ("param.pick", "null"), ("param.many", '"a"'), ("param.many", '"c"'),
            ("param.names", "one\r\n two \n\n"), ("param.numbers", "[3, 4.5]"),
            ("param.batch", "all"), ("param.at", "2026-03-01T08:30"), ("param.when", "07:00"),
            ("param.ratio", "2"),
        ]
    )  # fmt: skip
    conf, errors = conf_from_form(PARAMS, sent)
    assert errors == {}
    assert conf == {
        "pick": None, "many": ["a", "c"], "names": ["one", "two"], "numbers": [3, 4.5],
        "batch": "all", "at": "2026-03-01T08:30:00+00:00", "when": "07:00", "flag": False,
        "ratio": 2,
    }  # fmt: skip


def test_unreadable_fields_are_named() -> None:
    sent = MultiDict([("param.numbers", "[3,"), ("param.ratio", "lots")])
    _, errors = conf_from_form(PARAMS, sent)
    assert errors["param.numbers"].startswith("not valid JSON")
    assert errors["param.ratio"] == "'lots' is not a number"
