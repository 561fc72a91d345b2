"""Sensors: tasks that wait for a condition (a file, a moment, a command, a callable)."""

from engine.authoring.operators.sensors.base import BaseSensorOperator as BaseSensorOperator
from engine.authoring.operators.sensors.base import PokeReturnValue as PokeReturnValue
from engine.authoring.operators.sensors.base import SensorTimeout as SensorTimeout
from engine.authoring.operators.sensors.bash import BashSensor as BashSensor
from engine.authoring.operators.sensors.dates import DateTimeSensor as DateTimeSensor
from engine.authoring.operators.sensors.dates import TimeDeltaSensor as TimeDeltaSensor
from engine.authoring.operators.sensors.dates import TimeDeltaSensorAsync as TimeDeltaSensorAsync
from engine.authoring.operators.sensors.dates import TimeSensor as TimeSensor
from engine.authoring.operators.sensors.dates import TimeSensorAsync as TimeSensorAsync
from engine.authoring.operators.sensors.filesystem import FileSensor as FileSensor
from engine.authoring.operators.sensors.python import PythonSensor as PythonSensor
from engine.authoring.operators.sensors.weekday import DayOfWeekSensor as DayOfWeekSensor

__all__ = [
    "BaseSensorOperator",
    "BashSensor",
    "DateTimeSensor",
    "DayOfWeekSensor",
    "FileSensor",
    "PokeReturnValue",
    "PythonSensor",
    "SensorTimeout",
    "TimeDeltaSensor",
    "TimeDeltaSensorAsync",
    "TimeSensor",
    "TimeSensorAsync",
]
