"""Param's JSON-schema keywords, checked with ``jsonschema``: each keyword accepts what fits
and refuses what does not, all problems at once; unknown keywords and bad defaults are
errors that name them."""

from __future__ import annotations

from typing import Any

import pytest

from engine.authoring.dag import DAG
from engine.authoring.params import Param, ParamsError, resolve_params
from engine.errors import InvalidInputError

CASES: list[tuple[dict[str, Any], Any, Any, str]] = [
    # keywords, a value that fits, one that does not, what the problem says
    ({"type": "string"}, "a", 1, "must be of type string, got int"),
    ({"type": ["integer", "null"]}, None, "x", "must be of type integer or null, got str"),
    ({"type": "null"}, None, 0, "must be of type null"),
    ({"type": "boolean"}, True, 1, "must be of type boolean, got int"),
    ({"type": "integer"}, 3, True, "must be of type integer, got bool"),
    ({"enum": ["a", "b"]}, "b", "c", "must be one of ['a', 'b']"),
    ({"const": "fixed"}, "fixed", "other", "must be 'fixed'"),
    ({"minimum": 1}, 1, 0, "must be at least 1"),
    ({"maximum": 10}, 10, 11, "must be at most 10"),
    ({"minLength": 2}, "ab", "a", "must be at least 2 characters long"),
    ({"maxLength": 2}, "ab", "abc", "must be at most 2 characters long"),
    ({"pattern": "^[a-z]+$"}, "abc", "ab1", "must match the pattern"),
    ({"type": "array", "items": {"type": "number"}}, [1, 2.5], [1, "x"], "item [1] must be"),
    ({"format": "date"}, "2026-03-01", "2026-13-01", "must be a valid date"),
    ({"format": "date-time"}, "2026-03-01T12:00:00+01:00", "2026-03-01 noon", "valid date-time"),
    ({"format": "date-time"}, "2026-03-01T12:00:00Z", "2026-03-01T12:00:00", "valid date-time"),
    ({"format": "time"}, "12:13:14", "25:00", "must be a valid time"),
    ({"format": "email"}, "a@example.com", "not-an-address", "must be a valid email"),
    ({"format": "uri"}, "https://example.com/x", "no scheme", "must be a valid uri"),
    ({"format": "duration"}, "PT15M", "15 minutes", "must be a valid duration"),
]


@pytest.mark.parametrize(("keywords", "good", "bad", "message"), CASES)
def test_each_keyword_accepts_what_fits_and_names_what_does_not(
    keywords: dict[str, Any], good: Any, bad: Any, message: str
) -> None:
    param = Param(good, **keywords)
    assert param.problems(good) == []
    problems = param.problems(bad)
    assert len(problems) == 1
    assert message in problems[0]


def test_multiline_is_a_string_format_that_keeps_newlines() -> None:
    params = {"text": Param("a\nb", type="string", format="multiline")}
    assert resolve_params(params, {"text": "x\ny"}) == {"text": "x\ny"}


def test_form_keywords_are_kept_and_not_checked() -> None:
    param = Param(
        3,
        "plain description",
        type=["number", "null"],
        enum=[1, 2, 3, None],
        values_display={1: "One", None: "Nothing"},
        examples=[1, 2],
        title="Pick",
        description_md="**bold**",
        section="Numbers",
    )
    assert (param.title, param.section, param.description) == (
        "Pick",
        "Numbers",
        "plain description",
    )
    assert param.types == ("number", "null")
    assert param.problems(None) == []
    assert Param.deserialize(param.serialize()) == param


def test_schema_dict_is_airflows_other_spelling() -> None:
    param = Param("a", description="d", schema={"type": "string", "enum": ["a", "b"]})
    assert param.enum == ("a", "b")
    assert param.problems("c") == ["must be one of ['a', 'b']"]


def test_every_problem_of_a_conf_is_reported_at_once() -> None:
    params = {
        "n": Param(5, type="integer", minimum=1, maximum=10),
        "name": Param("abc", type="string", minLength=3, pattern="^[a-z]+$"),
        "day": Param("2026-01-01", type="string", format="date"),
    }
    with pytest.raises(ParamsError) as refused:
        resolve_params(params, {"n": 99, "name": "A1", "day": "soon"})
    assert refused.value.by_param == {
        "n": ["must be at most 10"],
        "name": ["must be at least 3 characters long", "must match the pattern '^[a-z]+$'"],
        "day": ["must be a valid date, got 'soon'"],
    }


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"maxlength": 3}, "unknown keyword(s) 'maxlength'"),
        ({"type": "int"}, "Param type must be one of"),
        ({"format": "colour"}, "Param format must be one of"),
        ({"minimum": "one"}, "Param minimum: 'one' is not of type 'number'"),
    ],
)
def test_a_bad_keyword_is_an_error_naming_it(keywords: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Param(1, **keywords)


def test_a_default_that_breaks_its_param_fails_the_dag_naming_it() -> None:
    dag = DAG("bad_default", params={"size": Param(50, type="integer", maximum=10)})
    assert [message for message, _ in dag.problems] == [
        "param 'size': default 50 must be at most 10"
    ]


def test_conf_need_not_override_params_when_so_configured() -> None:
    params = {"n": Param(1, type="integer")}
    assert resolve_params(params, {"n": 2}, conf_overrides=False) == {"n": 1}
    with pytest.raises(ParamsError):
        resolve_params(params, {"n": "two"}, conf_overrides=False)  # still checked
