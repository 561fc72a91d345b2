"""The bundled operators."""

from engine.authoring.operators.bash import BashOperator as BashOperator
from engine.authoring.operators.branch import BaseBranchOperator as BaseBranchOperator
from engine.authoring.operators.branch import LatestOnlyOperator as LatestOnlyOperator
from engine.authoring.operators.dates import BranchDateTimeOperator as BranchDateTimeOperator
from engine.authoring.operators.dates import BranchDayOfWeekOperator as BranchDayOfWeekOperator
from engine.authoring.operators.empty import EmptyOperator as EmptyOperator
from engine.authoring.operators.python import BranchPythonOperator as BranchPythonOperator
from engine.authoring.operators.python import PythonOperator as PythonOperator
from engine.authoring.operators.python import ShortCircuitOperator as ShortCircuitOperator

__all__ = ["BashOperator", "BranchPythonOperator", "EmptyOperator", "PythonOperator"]
__all__ += [
    "BaseBranchOperator",
    "BranchDateTimeOperator",
    "BranchDayOfWeekOperator",
    "LatestOnlyOperator",
    "ShortCircuitOperator",
]
