"""Parsing DAG files: find them, import each in a child process, store what they define.

* :class:`ParseOptions`: where DAG files live and how they are parsed (from settings).
* :func:`discover_dag_files`: the DAG files of a folder (``.loomignore``, safe mode).
* :func:`parse_file`, :func:`parse_files`: import in child processes, with a timeout.
* :func:`parse_folder`: a whole folder, with the cross-file checks, no database.
* :func:`refresh_dags`: parse what changed and write it to the database.
* :class:`ParseLoop`: refresh beside the scheduler, never waiting for a slow file.
"""

from engine.lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
