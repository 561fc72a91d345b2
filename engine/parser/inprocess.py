"""Importing a DAG file in this process: what workers and ``loom dags test`` do.

:func:`import_dags` imports one file and validates what it built; the worker's
:class:`~workers.dagcache.DagCache` keeps the result per file version. ``loom dags
test`` first parses the folder in child processes (so a hanging or crashing neighbour
file cannot take the command down) and then imports only the file that defines the DAG.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.authoring.dag import DAG, collect_dags
from engine.authoring.validation import validate_dag
from engine.errors import DagValidationError, NotFoundError
from engine.parser.child import import_dag_file
from engine.parser.options import ParseOptions
from engine.plugins.loading import load_plugins

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportedFile:
    """The valid DAGs one version of a file defined, and the problems of the others."""

    fileloc: str
    file_hash: str
    dags: dict[str, DAG]
    problems: dict[str, list[str]]

    def dag(self, dag_id: str) -> DAG:
        """The valid DAG ``dag_id``; :class:`DagValidationError` or :class:`NotFoundError`."""
        if dag_id in self.problems:
            raise DagValidationError(self.problems[dag_id])
        if dag_id not in self.dags:
            raise NotFoundError(f"{self.fileloc} no longer defines DAG {dag_id!r}")
        return self.dags[dag_id]


def import_dags(
    path: Path, *, file_hash: str, dags_folder: Path, cron_data_intervals: bool = False
) -> ImportedFile:
    """Import ``path`` in this process and validate each DAG it defines.

    ``dags_folder`` goes on ``sys.path`` first (once), as when the parser imports the
    file, so that its imports of neighbour modules work. Errors of the import itself
    propagate.
    """
    logger.info("importing DAG file %s (sha256 %s)", path, file_hash[:12])
    folder = str(dags_folder)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    with collect_dags() as built:
        import_dag_file(path, cron_data_intervals=cron_data_intervals)
    dags: dict[str, DAG] = {}
    problems: dict[str, list[str]] = {}
    for dag in built:
        dag.fileloc = str(path)
        found = [str(problem) for problem in validate_dag(dag)]
        if found:
            problems[dag.dag_id] = found
        else:
            dags.setdefault(dag.dag_id, dag)
    return ImportedFile(str(path), file_hash, dags, problems)


def find_dag_file(dag_id: str, options: ParseOptions) -> Path:
    """The file under ``options.dags_folder`` that defines ``dag_id``.

    Raises :class:`DagValidationError` when the DAG is defined but invalid, and
    :class:`NotFoundError` when no file defines it.
    """
    from engine.parser.dagbag import parse_folder  # child processes: not for workers

    results = parse_folder(options)
    for result in results:
        if dag_id in result.dag_ids:
            return result.path
    for result in results:
        if dag_id in result.invalid_dag_ids:
            raise DagValidationError([error.message for error in result.errors])
    known = sorted(dag for result in results for dag in result.dag_ids)
    broken = [error.message for result in results if not result.dag_ids for error in result.errors]
    # A file that failed to import may be the one that defines it: say which failed.
    failed = "".join(f"\n  {message}" for message in broken)
    raise NotFoundError(
        f"no DAG {dag_id!r} in {options.dags_folder}; known DAGs: {', '.join(known) or 'none'}"
        + (f"; files that failed to import:{failed}" if failed else "")
    )


def load_dag(dag_id: str, path: Path, options: ParseOptions) -> DAG:
    """Import ``path`` here and return its DAG ``dag_id`` (checked in a child first).

    The plugins of ``options.plugins_folder`` are loaded into this process before the
    import."""
    from engine.parser.processor import parse_file  # child processes: not for workers

    checked = parse_file(path, options)
    if dag_id not in checked.dag_ids:
        if checked.errors:
            raise DagValidationError([error.message for error in checked.errors])
        raise NotFoundError(f"{path} does not define DAG {dag_id!r}")
    load_plugins(options.plugins_folder)
    imported = import_dags(
        path, file_hash=checked.file_hash, dags_folder=options.dags_folder,
        cron_data_intervals=options.cron_data_intervals,
    )  # fmt: skip
    return imported.dag(dag_id)
