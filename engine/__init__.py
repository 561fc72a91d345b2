"""Loom's authoring API: everything a DAG file imports.

from engine import DAG, task
"""

from engine.baseoperator import BaseOperator as BaseOperator
from engine.chain import chain as chain
from engine.dag import DAG as DAG
from engine.dag import dag as dag
from engine.operators import BashOperator as BashOperator
from engine.operators import BranchPythonOperator as BranchPythonOperator
from engine.operators import EmptyOperator as EmptyOperator
from engine.operators import PythonOperator as PythonOperator
from engine.params import Param as Param
from engine.signals import AirflowFailException as AirflowFailException
from engine.signals import AirflowSkipException as AirflowSkipException
from engine.signals import FailTask as FailTask
from engine.signals import SkipTask as SkipTask
from engine.taskflow import XComArg as XComArg
from engine.taskflow import task as task
from engine.trigger_rules import TriggerRule as TriggerRule

__all__ = [
    "DAG",
    "AirflowFailException",
    "AirflowSkipException",
    "BaseOperator",
    "BashOperator",
    "BranchPythonOperator",
    "EmptyOperator",
    "FailTask",
    "Param",
    "PythonOperator",
    "SkipTask",
    "TriggerRule",
    "XComArg",
    "chain",
    "dag",
    "task",
]
