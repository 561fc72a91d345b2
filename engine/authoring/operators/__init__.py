"""The bundled operators."""

from engine.authoring.operators.bash import BashOperator as BashOperator
from engine.authoring.operators.branch import BaseBranchOperator as BaseBranchOperator
from engine.authoring.operators.branch import LatestOnlyOperator as LatestOnlyOperator
from engine.authoring.operators.dates import BranchDateTimeOperator as BranchDateTimeOperator
from engine.authoring.operators.dates import BranchDayOfWeekOperator as BranchDayOfWeekOperator
from engine.authoring.operators.empty import EmptyOperator as EmptyOperator
from engine.authoring.operators.external_marker import ExternalTaskMarker as ExternalTaskMarker
from engine.authoring.operators.python import BranchPythonOperator as BranchPythonOperator
from engine.authoring.operators.python import PythonOperator as PythonOperator
from engine.authoring.operators.python import ShortCircuitOperator as ShortCircuitOperator
from engine.authoring.operators.virtualenv import (
    BranchExternalPythonOperator as BranchExternalPythonOperator,
)
from engine.authoring.operators.virtualenv import (
    BranchPythonVirtualenvOperator as BranchPythonVirtualenvOperator,
)
from engine.authoring.operators.virtualenv import ExternalPythonOperator as ExternalPythonOperator
from engine.authoring.operators.virtualenv import (
    PythonVirtualenvOperator as PythonVirtualenvOperator,
)

__all__ = [
    "BaseBranchOperator",
    "BashOperator",
    "BranchDateTimeOperator",
    "BranchDayOfWeekOperator",
    "BranchExternalPythonOperator",
    "BranchPythonOperator",
    "BranchPythonVirtualenvOperator",
    "EmptyOperator",
    "ExternalPythonOperator",
    "ExternalTaskMarker",
    "LatestOnlyOperator",
    "PythonOperator",
    "PythonVirtualenvOperator",
    "ShortCircuitOperator",
]
