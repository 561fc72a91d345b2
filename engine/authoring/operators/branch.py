"""BaseBranchOperator, for operators that choose which direct downstream tasks run, and
LatestOnlyOperator, which lets them run only in the latest scheduled interval."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from engine.authoring.baseoperator import BaseOperator
from engine.authoring.schedules import DataInterval, next_run, restriction
from engine.timeutil import utcnow

logger = logging.getLogger(__name__)

MANUAL_RUN_TYPES = frozenset({"manual", "test"})
"""Runs a person started (``loom dags test`` is one, as Airflow's ``dags test``)."""


class BaseBranchOperator(BaseOperator):
    """Subclasses implement :meth:`choose_branch`: the task id(s) or task group id(s) to
    follow. Direct downstream tasks not chosen are skipped; ``None`` or ``[]`` skips them
    all. A group id stands for the group's root tasks."""

    is_branch = True

    def choose_branch(self, context: Mapping[str, Any]) -> str | Iterable[str] | None:
        raise NotImplementedError(f"{self.operator_name} does not implement choose_branch()")

    def execute(self, context: Mapping[str, Any]) -> str | list[str] | None:
        chosen = self.choose_branch(context)
        return chosen if chosen is None or isinstance(chosen, str) else list(chosen)


class LatestOnlyOperator(BaseBranchOperator):
    """Skip the direct downstream tasks unless this run is the latest scheduled one.

    As in Airflow 3: a manual run always goes on; otherwise the run goes on when now lies
    in ``(data_interval_start, end of the next interval]``, or when the schedule has no
    next interval (``None``, ``@once``, past ``end_date``). Backfill runs are judged by the
    window like scheduled ones, so they skip.
    """

    def choose_branch(self, context: Mapping[str, Any]) -> list[str]:
        everything = sorted(self.downstream_task_ids)
        run = context["dag_run"]
        if run.run_type in MANUAL_RUN_TYPES:
            logger.info("manually triggered run: allowing execution to proceed")
            return everything
        window = self._window(run.data_interval_start, run.data_interval_end)
        if window is None:
            logger.info("the schedule has no later run: allowing execution to proceed")
            return everything
        left, right = window
        now = utcnow()
        logger.info("latest only: window (%s, %s], now %s", left, right, now)
        if left < now <= right:
            return everything
        logger.info("not the latest run: skipping the downstream tasks")
        return []

    def _window(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        assert self.dag is not None, f"task {self.task_id!r} has no DAG"
        following = next_run(
            self.dag.schedule,
            last=DataInterval(start, end),
            restriction=restriction(self.dag.start_date or start, self.dag.end_date, True),
            now=end,
        )
        return None if following is None else (start, following.data_interval.end)
