"""Exceptions a task raises to steer its own outcome (Airflow's names are aliases)."""

from __future__ import annotations


class SkipTask(Exception):  # noqa: N818 - named for what the task asks for, as in Airflow
    """Raised by a task to end as ``skipped`` instead of failing."""


class FailTask(Exception):  # noqa: N818
    """Raised by a task to fail at once, without using its remaining retries."""


class TaskTimeout(Exception):  # noqa: N818
    """Raised inside a task that ran past its ``execution_timeout``."""


AirflowSkipException = SkipTask
AirflowFailException = FailTask
