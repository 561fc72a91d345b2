"""Shell commands that put a run's conf into the shell unquoted are flagged; ``| sh`` quotes."""

from __future__ import annotations

import subprocess
from datetime import datetime

import pytest

from engine import DAG, BashOperator, Param
from engine.authoring.serialization import serialize_dag
from engine.authoring.templating import render_string
from engine.parser.shell_safety import shell_injection_warnings, unquoted_untrusted

ATTACK = "x'; id > /tmp/pwned; echo '"


@pytest.mark.parametrize(
    ("template", "flagged"),
    [
        ("echo {{ params.region }}", ["params.region"]),
        ("echo '{{ params['region'] }}'", ["params.region"]),
        ("echo {{ params.region | upper }}", ["params.region"]),
        ("echo {{ dag_run.conf }}", ["dag_run.conf"]),
        ('echo {{ dag_run.conf.get("x") }}', ["dag_run.conf"]),
        ("echo {{ conf.x }} {{ params }}", ["conf.x", "params"]),
        ("echo {{ params.region | sh }}", []),
        ('echo {{ dag_run.conf.get("x") | sh }}', []),
        ("echo {{ ds }} {{ run_id }} {{ dag_run.run_id }}", []),
        ("echo {{ params.count }}", []),
        ("echo {% broken", []),
    ],
)
def test_unquoted_conf_is_found(template: str, flagged: list[str]) -> None:
    assert unquoted_untrusted(template, safe_params=frozenset({"count"})) == flagged


def test_a_dag_is_warned_about_each_unsafe_shell_field() -> None:
    with DAG(
        "d",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        params={"region": "eu", "n": Param(1, type="integer"), "env": Param("a", enum=["a"])},
    ) as dag:
        BashOperator(task_id="bad", bash_command="echo {{ params.region }}")
        BashOperator(task_id="quoted", bash_command="echo {{ params.region | sh }}")
        BashOperator(task_id="typed", bash_command="echo {{ params.n }} {{ params.env }}")
        BashOperator(task_id="env", bash_command='echo "$R"', env={"R": "{{ params.region }}"})
    [warning] = shell_injection_warnings(serialize_dag(dag))
    assert warning.startswith("task 'bad': bash_command interpolates {{ params.region }}")
    assert "'| sh'" in warning


def test_sh_quotes_the_attack_into_one_harmless_word() -> None:
    command = render_string(
        "echo {{ params.region | sh }}", {"params": {"region": ATTACK}}, where="test"
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True)
    assert done.stdout == ATTACK + "\n"
    assert render_string("{{ 5 | sh }}", {}, where="test") == "5"
