"""The DAG file of the runner tests for deferral: defer, resume, fail on resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from engine import DAG, BaseOperator, DateTimeTrigger


class Waits(BaseOperator):
    """Defers on a moment an hour ahead; resumes in ``execute_complete``."""

    def __init__(self, *, fail_on_resume: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail_on_resume = fail_on_resume

    def execute(self, context: Any) -> Any:
        print("about to defer")
        self.defer(
            trigger=DateTimeTrigger(datetime.now(UTC) + timedelta(hours=1)),
            method_name="execute_complete",
            kwargs={"since": datetime(2026, 1, 1, tzinfo=UTC)},
            timeout=timedelta(minutes=10),
        )

    def execute_complete(self, context: Any, since: datetime, event: Any = None) -> Any:
        print("resumed")
        if self.fail_on_resume:
            raise RuntimeError("the event was not what I wanted")
        return {"event": event, "since_is_datetime": isinstance(since, datetime)}


with DAG("deferring", schedule=None, start_date=datetime(2026, 1, 1)):
    Waits(task_id="waits")
    Waits(task_id="unhappy", fail_on_resume=True, retries=1)
