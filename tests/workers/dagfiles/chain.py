"""A chain of no-op tasks: what the statements-per-try test runs."""

from __future__ import annotations

from datetime import datetime

from engine import DAG, chain, task

with DAG("chain", schedule=None, start_date=datetime(2026, 1, 1)) as dag:

    @task
    def noop() -> None:
        return None

    chain(*[noop.override(task_id=f"t{i}")() for i in range(4)])

with DAG("fan", schedule=None, start_date=datetime(2026, 1, 1), max_active_tasks=3) as fan:

    @task
    def step() -> None:
        return None

    leaves = [step.override(task_id=f"leaf{i}")() for i in range(5)]
    step.override(task_id="root")() >> leaves >> step.override(task_id="join")()

WIDE = 66
"""More upstream tasks than ``engine.scheduling.readiness.MAX_LISTED_TASKS``: a wide fan-in."""

for dag_id, rule in (("wide_fan", "all_success"), ("wide_fan_one_success", "one_success")):
    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1)):

        @task
        def part() -> None:
            return None

        parts = [part.override(task_id=f"w{i:02d}")() for i in range(WIDE)]
        parts >> part.override(task_id="join", trigger_rule=rule)()

with DAG("mapped_fan", schedule=None, start_date=datetime(2026, 1, 1)):

    @task
    def make() -> list[int]:
        return list(range(6))

    @task
    def each(i: int) -> None:
        return None

    @task
    def gather() -> None:
        return None

    each.expand(i=make()) >> gather()

with DAG("wide_branch", schedule=None, start_date=datetime(2026, 1, 1)):

    @task
    def side() -> None:
        return None

    @task.branch
    def pick() -> str:
        return "elsewhere"

    chosen = pick()
    chosen >> side.override(task_id="elsewhere")()
    [chosen, *[side.override(task_id=f"s{i:02d}")() for i in range(WIDE)]] >> side.override(
        task_id="join"
    )()
