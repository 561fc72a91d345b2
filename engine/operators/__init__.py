"""The bundled operators."""

from engine.operators.bash import BashOperator as BashOperator
from engine.operators.empty import EmptyOperator as EmptyOperator
from engine.operators.python import BranchPythonOperator as BranchPythonOperator
from engine.operators.python import PythonOperator as PythonOperator

__all__ = ["BashOperator", "BranchPythonOperator", "EmptyOperator", "PythonOperator"]
