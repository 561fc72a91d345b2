"""The bundled operators."""

from engine.authoring.operators.bash import BashOperator as BashOperator
from engine.authoring.operators.empty import EmptyOperator as EmptyOperator
from engine.authoring.operators.python import BranchPythonOperator as BranchPythonOperator
from engine.authoring.operators.python import PythonOperator as PythonOperator

__all__ = ["BashOperator", "BranchPythonOperator", "EmptyOperator", "PythonOperator"]
