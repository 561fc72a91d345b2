"""Finding one DAG by id and importing its file in this process, for ``loom dags test``.

The folder is first parsed in child processes (so a hanging or crashing neighbour file
cannot take the command down); only the file that defines the DAG is imported here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine.authoring.dag import DAG, collect_dags
from engine.errors import DagValidationError, NotFoundError
from engine.parser import parse_file, parse_folder
from engine.parser.child import import_dag_file
from engine.plugins.loading import load_plugins


def find_dag_file(
    dag_id: str,
    *,
    dags_folder: Path,
    timeout: float,
    parallelism: int,
    plugins_folder: Path | None = None,
) -> Path:
    """The file under ``dags_folder`` that defines ``dag_id``.

    Raises :class:`DagValidationError` when the DAG is defined but invalid, and
    :class:`NotFoundError` when no file defines it.
    """
    results = parse_folder(
        dags_folder, timeout=timeout, parallelism=parallelism, plugins_folder=plugins_folder
    )
    for result in results:
        if dag_id in result.dag_ids:
            return result.path
    for result in results:
        if dag_id in result.invalid_dag_ids:
            raise DagValidationError([error.message for error in result.errors])
    known = sorted(dag for result in results for dag in result.dag_ids)
    raise NotFoundError(
        f"no DAG {dag_id!r} in {dags_folder}; known DAGs: {', '.join(known) or 'none'}"
    )


def load_dag(
    dag_id: str,
    path: Path,
    *,
    dags_folder: Path,
    timeout: float,
    plugins_folder: Path | None = None,
) -> DAG:
    """Import ``path`` here and return its DAG ``dag_id`` (checked in a child first).

    The plugins of ``plugins_folder`` are loaded into this process before the import."""
    checked = parse_file(
        path, dags_folder=dags_folder, timeout=timeout, plugins_folder=plugins_folder
    )
    if dag_id not in checked.dag_ids:
        if checked.errors:
            raise DagValidationError([error.message for error in checked.errors])
        raise NotFoundError(f"{path} does not define DAG {dag_id!r}")
    load_plugins(plugins_folder)
    sys.path.insert(0, str(dags_folder))
    with collect_dags() as dags:
        import_dag_file(path)
    return next(dag for dag in dags if dag.dag_id == dag_id)
