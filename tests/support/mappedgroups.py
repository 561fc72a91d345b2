"""A DAG with mapped task groups, for the tests of mapped groups at every edge; run it
with :class:`tests.support.mapping.Harness` (its DAG id is ``mapping`` too)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from tests.support.mapping import write_dag

GROUP_DAG = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, BashOperator, task, task_group

    with DAG("mapping", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        @task
        def make():
            return {{MAKE}}

        @task
        def add(x, k):
            if x == {{FAIL_AT}}:
                raise ValueError("no")
            return x + k

        @task
        def double(v, ti):
            return [v * 2, ti.map_index]

        @task(trigger_rule="all_done")
        def note(v, x):
            return f"{x}:{v}"

        @task_group
        def grp(x, k):
            added = add(x, k)
            note(added, x)
            return double(added)

        @task(trigger_rule="{{RULE}}")
        def total(values):
            return list(values)

        total(grp.partial(k=10).expand(x=make()))

        @task_group
        def words(word, times=1):
            said = BashOperator(task_id="say", bash_command=word)

            @task
            def repeat(text, times):
                return text * times

            repeat(said.output, times)

        words.expand_kwargs([{"word": "echo ab", "times": 2}, {"word": "echo c"}])

        @task_group
        def pick(letter):
            @task.branch
            def choose(letter):
                return f"pick.{letter}"

            @task
            def a():
                return "a"

            @task
            def b():
                return "b"

            choose(letter) >> [a(), b()]

        pick.expand(letter=["a", "b", "a"])
    """
)

GROUP_DEFAULTS = {"MAKE": "[1, 2, 3]", "FAIL_AT": None, "RULE": "all_success"}


def write_group_dag(folder: Path, **values: Any) -> None:
    write_dag(folder, template=GROUP_DAG, defaults=GROUP_DEFAULTS, **values)
