"""Params checked against a run's conf; retry delays follow the backoff formula."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from engine.authoring.params import Param, ParamsError, as_params, resolve_params
from engine.errors import InvalidInputError
from engine.execution.retries import JITTER, retry_delay_for

PARAMS = as_params(
    {
        "target": Param("staging", type="string", enum=["staging", "production"]),
        "size": Param(5, type="integer", minimum=1, maximum=10),
        "free": {"any": "thing"},
        "needed": Param(type="string"),
    }
)


def test_conf_overrides_defaults_and_extra_keys_pass_through() -> None:
    resolved = resolve_params(PARAMS, {"needed": "yes", "size": 3, "other": 1})
    assert resolved == {"target": "staging", "size": 3, "free": {"any": "thing"}, "needed": "yes"}


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({}, "param 'needed' is required"),
        ({"needed": "y", "size": "3"}, "param 'size' must be of type integer, got str"),
        ({"needed": "y", "size": True}, "param 'size' must be of type integer, got bool"),
        ({"needed": "y", "size": 11}, "param 'size' must be at most 10"),
        (
            {"needed": "y", "target": "prod"},
            r"param 'target' must be one of \['staging', 'production'\]",
        ),
    ],
)
def test_bad_conf_is_refused_naming_the_param(conf: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        resolve_params(PARAMS, conf)


def test_a_plain_default_fixes_the_json_type() -> None:
    params = as_params({"region": "eu", "n": 3, "ratio": 0.5, "on": False, "ids": [1], "x": None})
    assert {name: p.type for name, p in params.items()} == {
        "region": "string",
        "n": "integer",
        "ratio": "number",
        "on": "boolean",
        "ids": "array",
        "x": None,
    }
    with pytest.raises(InvalidInputError, match="param 'region' must be of type string, got int"):
        resolve_params(params, {"region": 5})
    assert resolve_params(params, {"ratio": 2, "x": {"any": 1}})["ratio"] == 2


def test_every_problem_of_every_param_is_listed() -> None:
    with pytest.raises(ParamsError) as refused:
        resolve_params(PARAMS, {"size": 0, "target": "prod"})
    assert refused.value.by_param == {
        "target": ["must be one of ['staging', 'production']"],
        "size": ["must be at least 1"],
        "needed": ["is required: give it in the run's conf"],
    }
    assert set(refused.value.problems) == {"conf.target", "conf.size", "conf.needed"}
    message = str(refused.value)
    for name in ("'target'", "'size'", "'needed'"):
        assert name in message


def test_param_round_trips_through_serialization() -> None:
    for param in PARAMS.values():
        assert Param.deserialize(param.serialize()) == param


def test_unknown_param_type_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="Param type must be one of"):
        Param(1, type="int")


def test_fixed_delay_is_constant() -> None:
    for n in (1, 2, 5):
        delay = retry_delay_for(
            n, retry_delay=timedelta(seconds=30), exponential=False, max_retry_delay=None
        )
        assert delay == timedelta(seconds=30)


def test_exponential_delay_doubles_within_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    base = timedelta(seconds=10)
    for n in (1, 2, 3, 4):
        delay = retry_delay_for(
            n, retry_delay=base, exponential=True, max_retry_delay=None, rng=rng
        )
        expected = 10 * 2 ** (n - 1)
        assert expected * (1 - JITTER) <= delay.total_seconds() <= expected * (1 + JITTER)
    capped = retry_delay_for(
        30, retry_delay=base, exponential=True, max_retry_delay=timedelta(minutes=1), rng=rng
    )
    assert capped == timedelta(minutes=1)


def test_exponential_delay_has_a_default_cap() -> None:
    delay = retry_delay_for(
        200, retry_delay=timedelta(seconds=1), exponential=True, max_retry_delay=None
    )
    assert delay == timedelta(hours=24)
