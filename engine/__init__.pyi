from engine.authoring.assetdecorator import AssetDefinition as AssetDefinition
from engine.authoring.assetdecorator import asset as asset
from engine.authoring.assets import Asset as Asset
from engine.authoring.assets import AssetAlias as AssetAlias
from engine.authoring.assets import AssetAll as AssetAll
from engine.authoring.assets import AssetAny as AssetAny
from engine.authoring.assets import Metadata as Metadata
from engine.authoring.baseoperator import BaseOperator as BaseOperator
from engine.authoring.chain import chain as chain
from engine.authoring.connection import Connection as Connection
from engine.authoring.currentcontext import get_current_context as get_current_context
from engine.authoring.dag import DAG as DAG
from engine.authoring.dag import dag as dag
from engine.authoring.edges import EdgeModifier as EdgeModifier
from engine.authoring.edges import Label as Label
from engine.authoring.operators import BaseBranchOperator as BaseBranchOperator
from engine.authoring.operators import BashOperator as BashOperator
from engine.authoring.operators import BranchDateTimeOperator as BranchDateTimeOperator
from engine.authoring.operators import BranchDayOfWeekOperator as BranchDayOfWeekOperator
from engine.authoring.operators import BranchExternalPythonOperator as BranchExternalPythonOperator
from engine.authoring.operators import BranchPythonOperator as BranchPythonOperator
from engine.authoring.operators import (
    BranchPythonVirtualenvOperator as BranchPythonVirtualenvOperator,
)
from engine.authoring.operators import EmptyOperator as EmptyOperator
from engine.authoring.operators import ExternalPythonOperator as ExternalPythonOperator
from engine.authoring.operators import ExternalTaskMarker as ExternalTaskMarker
from engine.authoring.operators import LatestOnlyOperator as LatestOnlyOperator
from engine.authoring.operators import PythonOperator as PythonOperator
from engine.authoring.operators import PythonVirtualenvOperator as PythonVirtualenvOperator
from engine.authoring.operators import ShortCircuitOperator as ShortCircuitOperator
from engine.authoring.operators.sensors import BaseSensorOperator as BaseSensorOperator
from engine.authoring.operators.sensors import BashSensor as BashSensor
from engine.authoring.operators.sensors import DateTimeSensor as DateTimeSensor
from engine.authoring.operators.sensors import DayOfWeekSensor as DayOfWeekSensor
from engine.authoring.operators.sensors import FileSensor as FileSensor
from engine.authoring.operators.sensors import PokeReturnValue as PokeReturnValue
from engine.authoring.operators.sensors import PythonSensor as PythonSensor
from engine.authoring.operators.sensors import TimeDeltaSensor as TimeDeltaSensor
from engine.authoring.operators.sensors import TimeDeltaSensorAsync as TimeDeltaSensorAsync
from engine.authoring.operators.sensors import TimeSensor as TimeSensor
from engine.authoring.operators.sensors import TimeSensorAsync as TimeSensorAsync
from engine.authoring.operators.sensors.base import (
    AirflowRescheduleException as AirflowRescheduleException,
)
from engine.authoring.operators.sensors.base import AirflowSensorTimeout as AirflowSensorTimeout
from engine.authoring.operators.sensors.base import RescheduleTask as RescheduleTask
from engine.authoring.operators.sensors.base import SensorTimeout as SensorTimeout
from engine.authoring.params import Param as Param
from engine.authoring.setupteardown import setup as setup
from engine.authoring.setupteardown import teardown as teardown
from engine.authoring.signals import AirflowFailException as AirflowFailException
from engine.authoring.signals import AirflowSkipException as AirflowSkipException
from engine.authoring.signals import FailTask as FailTask
from engine.authoring.signals import SkipTask as SkipTask
from engine.authoring.taskflow import XComArg as XComArg
from engine.authoring.taskflow import task as task
from engine.authoring.taskgroup import TaskGroup as TaskGroup
from engine.authoring.taskgroup import task_group as task_group
from engine.authoring.timetables.assets import AssetOrTimeSchedule as AssetOrTimeSchedule
from engine.authoring.timetables.base import DagRunInfo as DagRunInfo
from engine.authoring.timetables.base import DataInterval as DataInterval
from engine.authoring.timetables.base import TimeRestriction as TimeRestriction
from engine.authoring.timetables.base import Timetable as Timetable
from engine.authoring.timetables.cron import CronDataIntervalTimetable as CronDataIntervalTimetable
from engine.authoring.timetables.cron import CronTriggerTimetable as CronTriggerTimetable
from engine.authoring.timetables.cron import (
    MultipleCronTriggerTimetable as MultipleCronTriggerTimetable,
)
from engine.authoring.timetables.delta import (
    DeltaDataIntervalTimetable as DeltaDataIntervalTimetable,
)
from engine.authoring.timetables.delta import DeltaTriggerTimetable as DeltaTriggerTimetable
from engine.authoring.timetables.simple import ContinuousTimetable as ContinuousTimetable
from engine.authoring.timetables.simple import EventsTimetable as EventsTimetable
from engine.authoring.timetables.simple import NullTimetable as NullTimetable
from engine.authoring.timetables.simple import OnceTimetable as OnceTimetable
from engine.authoring.trigger_rules import TriggerRule as TriggerRule
from engine.authoring.triggers import BaseTrigger as BaseTrigger
from engine.authoring.triggers import DateTimeTrigger as DateTimeTrigger
from engine.authoring.triggers import FileTrigger as FileTrigger
from engine.authoring.triggers import TaskDeferralError as TaskDeferralError
from engine.authoring.triggers import TaskDeferralTimeout as TaskDeferralTimeout
from engine.authoring.triggers import TaskDeferred as TaskDeferred
from engine.authoring.triggers import TimeDeltaTrigger as TimeDeltaTrigger
from engine.authoring.triggers import TriggerEvent as TriggerEvent
from engine.authoring.weekday import WeekDay as WeekDay
from engine.execution.external_task import ExternalTaskSensor as ExternalTaskSensor
from engine.execution.secrets import BaseHook as BaseHook
from engine.execution.secrets import Variable as Variable
from engine.execution.trigger_dagrun import TriggerDagRunOperator as TriggerDagRunOperator
from engine.hooks.http import HttpHook as HttpHook
from engine.hooks.http_operators import HttpOperator as HttpOperator
from engine.hooks.http_operators import HttpSensor as HttpSensor
from engine.hooks.http_operators import SimpleHttpOperator as SimpleHttpOperator
from engine.hooks.sql import DbApiHook as DbApiHook
from engine.hooks.sql import PostgresHook as PostgresHook
from engine.hooks.sql import SqlHook as SqlHook
from engine.hooks.sql import SqliteHook as SqliteHook
from engine.hooks.sql import fetch_all_handler as fetch_all_handler
from engine.hooks.sql import fetch_one_handler as fetch_one_handler
from engine.hooks.sql_operators import SQLExecuteQueryOperator as SQLExecuteQueryOperator
from engine.hooks.sql_operators import SqlSensor as SqlSensor
from engine.plugins.base import AirflowPlugin as AirflowPlugin
from engine.plugins.base import LoomPlugin as LoomPlugin
