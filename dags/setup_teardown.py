"""Setup and teardown: a scratch workspace is created before the work and always removed
after it, even when the work fails; a failed clean-up does not fail the run."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from engine import BashOperator, dag, setup, task, teardown


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["example"])
def setup_teardown() -> None:
    """Create a workspace, fill and summarise it inside its scope, then remove it."""

    @setup
    def create_workspace() -> str:
        return tempfile.mkdtemp(prefix="loom-example-")

    @teardown
    def remove_workspace(path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)
        print(f"removed {path}")

    @task
    def write_numbers(path: str) -> int:
        numbers = list(range(1, 11))
        Path(path, "numbers.txt").write_text("\n".join(map(str, numbers)))
        return len(numbers)

    @task
    def total(path: str) -> int:
        return sum(int(line) for line in Path(path, "numbers.txt").read_text().split())

    workspace = create_workspace()
    # Tasks created inside the block run after the setup and before the teardown.
    with workspace >> remove_workspace(workspace):
        write_numbers(workspace) >> total(workspace)

    # A classic operator pair: as_setup() / as_teardown(setups=...).
    start_cache = BashOperator(task_id="start_cache", bash_command="echo cache up")
    stop_cache = BashOperator(task_id="stop_cache", bash_command="echo cache down")
    warm = BashOperator(task_id="warm_cache", bash_command="echo warming")
    start_cache.as_setup() >> warm >> stop_cache.as_teardown(setups=start_cache)


setup_teardown()
