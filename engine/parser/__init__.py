"""Parsing DAG files: find them, import each in a child process, store what they define.

* :func:`discover_dag_files`: the DAG files of a folder (``.loomignore``, safe mode).
* :func:`parse_file`, :func:`parse_files`: import in child processes, with a timeout.
* :func:`parse_folder`: a whole folder, with the cross-file checks, no database.
* :func:`refresh_dags`: parse what changed and write it to the database.
"""

from engine.parser.dagbag import parse_folder as parse_folder
from engine.parser.discovery import discover_dag_files as discover_dag_files
from engine.parser.processor import FileParseResult as FileParseResult
from engine.parser.processor import ImportErrorInfo as ImportErrorInfo
from engine.parser.processor import parse_file as parse_file
from engine.parser.processor import parse_files as parse_files
from engine.parser.sync import RefreshReport as RefreshReport
from engine.parser.sync import refresh_dags as refresh_dags
from engine.parser.sync import set_dag_paused as set_dag_paused

__all__ = [
    "FileParseResult",
    "ImportErrorInfo",
    "RefreshReport",
    "discover_dag_files",
    "parse_file",
    "parse_files",
    "parse_folder",
    "refresh_dags",
    "set_dag_paused",
]
