"""BaseSensorOperator: a task that pokes until a condition holds, or times out.

``mode="poke"`` loops inside the try and sleeps between pokes, holding its worker slot.
``deferrable=True`` (on the sensors that have a trigger: time, date and file sensors,
``ExternalTaskSensor``) pokes once, then defers on the trigger: the try frees its slot
and a triggerer waits; the task resumes in :meth:`BaseSensorOperator.execute_complete`.
``mode="reschedule"`` pokes once per try: when the condition does not hold yet it raises
:class:`RescheduleTask`, the try ends ``up_for_reschedule`` and the scheduler queues the
sensor again when its next poke is due, so the slot is free meanwhile. Either way the
``timeout`` counts from the sensor's first poke (``ti.first_poke_at`` across reschedules).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from engine.authoring.baseoperator import BaseOperator
from engine.authoring.signals import FailTask, SkipTask
from engine.authoring.triggers.base import BaseTrigger
from engine.timeutil import utcnow

logger = logging.getLogger(__name__)

VALID_MODES = ("poke", "reschedule")
DEFAULT_POKE_INTERVAL = 60.0
DEFAULT_TIMEOUT = 7 * 24 * 60 * 60.0
"""Airflow's ``sensors.default_timeout``: a week."""


class SensorTimeout(FailTask):
    """A sensor's condition did not hold within its ``timeout``; it fails without retrying."""


class RescheduleTask(Exception):  # noqa: N818 - named for what the task asks for
    """Raised by a ``mode="reschedule"`` sensor: end this try, poke again at
    ``reschedule_date``."""

    def __init__(self, reschedule_date: datetime) -> None:
        super().__init__(f"rescheduled to {reschedule_date.isoformat()}")
        self.reschedule_date = reschedule_date


AirflowSensorTimeout = SensorTimeout
AirflowRescheduleException = RescheduleTask


@dataclass(frozen=True)
class PokeReturnValue:
    """What ``poke`` may return instead of a bool: whether it is done, and the XCom."""

    is_done: bool
    xcom_value: Any = None

    def __bool__(self) -> bool:
        return self.is_done


class BaseSensorOperator(BaseOperator):
    """Call :meth:`poke` every ``poke_interval`` seconds until it returns something true.

    ``timeout`` (seconds or a timedelta) fails the task with :class:`SensorTimeout`, or
    skips it with ``soft_fail=True``. ``exponential_backoff`` doubles the wait after each
    poke (with jitter), never beyond ``max_wait`` nor the time left before the timeout.
    """

    ui_color: ClassVar[str] = "#e6f1f2"
    can_defer: ClassVar[bool] = False
    """True for a sensor that has a trigger (:meth:`trigger_for`), so that
    ``deferrable=True`` means something."""
    defer_with_timeout: ClassVar[bool] = True
    """Whether the sensor's ``timeout`` bounds its deferral (not for a moment's wait)."""

    def __init__(
        self,
        task_id: str,
        *,
        poke_interval: float | timedelta = DEFAULT_POKE_INTERVAL,
        timeout: float | timedelta = DEFAULT_TIMEOUT,
        soft_fail: bool = False,
        mode: str = "poke",
        exponential_backoff: bool = False,
        max_wait: float | timedelta | None = None,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.deferrable = bool(deferrable)
        if self.deferrable and not self.can_defer:
            self.problems.append(f"{type(self).__name__} cannot be deferrable: it has no trigger")
        self.poke_interval = self._seconds("poke_interval", poke_interval)
        self.timeout = self._seconds("timeout", timeout)
        self.max_wait = None if max_wait is None else self._seconds("max_wait", max_wait)
        self.soft_fail = bool(soft_fail)
        self.exponential_backoff = bool(exponential_backoff)
        if mode not in VALID_MODES:
            self.problems.append(f"mode must be one of {', '.join(VALID_MODES)}, got {mode!r}")
        self.mode = mode

    def _seconds(self, name: str, value: Any) -> float:
        seconds = value.total_seconds() if isinstance(value, timedelta) else value
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            self.problems.append(
                f"{name} must be a non-negative number of seconds or a timedelta, got {value!r}"
            )
            return 0.0
        return float(seconds)

    @property
    def reschedule(self) -> bool:
        """True when the sensor frees its slot between pokes (Airflow's name)."""
        return self.mode == "reschedule"

    def poke(self, context: Mapping[str, Any]) -> bool | PokeReturnValue:
        """Whether the condition holds; override in a sensor."""
        raise NotImplementedError(f"{type(self).__name__} must implement poke(context)")

    def execute(self, context: Mapping[str, Any]) -> Any:
        if self.deferrable:
            return self._poke_then_defer(context)
        started = getattr(context.get("ti"), "first_poke_at", None) or utcnow()
        pokes = getattr(context.get("ti"), "poke_count", 0)
        while True:
            pokes += 1
            # One line per poke: a rescheduled sensor's try log gathers every poke's.
            logger.info("poke %d of sensor %s", pokes, self.task_id)
            result = self.poke(context)
            if result:
                return result.xcom_value if isinstance(result, PokeReturnValue) else None
            waited = (utcnow() - started).total_seconds()
            if waited > self.timeout:
                self._time_out(waited)
            interval = self.next_poke_interval(started, waited, pokes)
            if self.reschedule:
                raise RescheduleTask(utcnow() + timedelta(seconds=interval))
            time.sleep(interval)

    def trigger_for(self, context: Mapping[str, Any]) -> BaseTrigger:
        """The trigger a deferrable sensor waits on; override with ``can_defer = True``."""
        raise NotImplementedError(f"{type(self).__name__} has no trigger")

    def _poke_then_defer(self, context: Mapping[str, Any]) -> Any:
        """Poke once; when not done, wait on :meth:`trigger_for` in a triggerer and
        resume in :meth:`execute_complete`."""
        result = self.poke(context)
        if result:
            return result.xcom_value if isinstance(result, PokeReturnValue) else None
        timeout = timedelta(seconds=self.timeout) if self.defer_with_timeout else None
        return self.defer(
            trigger=self.trigger_for(context), method_name="execute_complete", timeout=timeout
        )

    def execute_complete(self, context: Mapping[str, Any], event: Any = None) -> Any:
        """Where a deferred sensor resumes: its trigger fired, so the condition holds."""
        return None

    def _time_out(self, waited: float) -> None:
        message = f"sensor {self.task_id!r} timed out after {waited:.1f}s (timeout {self.timeout}s)"
        if self.soft_fail:
            raise SkipTask(message)
        raise SensorTimeout(message)

    def next_poke_interval(self, started: datetime, waited: float, pokes: int) -> float:
        """Seconds to wait after poke number ``pokes``: ``poke_interval``, or with
        ``exponential_backoff`` a jittered doubling of it, capped by ``max_wait`` and by the
        time left before the timeout."""
        if not self.exponential_backoff:
            return self.poke_interval
        base = max(self.poke_interval * 2 ** (pokes - 1), 1.0)
        # Jitter from a hash of the sensor and the poke, so a retried poke waits the same.
        dag_id = self.dag.dag_id if self.dag is not None else ""
        seed = f"{dag_id}#{self.task_id}#{started.isoformat()}#{pokes}"
        jitter = int(hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest(), 16)
        interval = base + (jitter % 1000) / 1000 * base
        interval = min(interval, max(self.timeout - waited, 0.0))
        if self.max_wait is not None:
            interval = min(interval, self.max_wait)
        return float(interval)

    def serialize_fields(self) -> dict[str, Any]:
        return {
            **super().serialize_fields(),
            "poke_interval": self.poke_interval,
            "timeout": self.timeout,
            "soft_fail": self.soft_fail,
            "mode": self.mode,
            "exponential_backoff": self.exponential_backoff,
            "max_wait": self.max_wait,
            "deferrable": self.deferrable,
        }
