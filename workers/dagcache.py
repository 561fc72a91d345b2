"""DAG files imported in the worker process, cached by content hash.

A worker imports the file that defines a task's DAG (user code runs here, as it must to
run the task) and keeps what it built: the next try of any task of that file skips the
import while the file's SHA-256 is unchanged. A changed file is imported afresh and
replaces the old entry, so the cache holds one version per file.
"""

from __future__ import annotations

import threading
from pathlib import Path

from engine.authoring.baseoperator import BaseOperator
from engine.authoring.dag import DAG
from engine.errors import NotFoundError
from engine.parser.discovery import file_hash
from engine.parser.inprocess import ImportedFile, import_dags


class DagCache:
    """Imported DAG files of this process, one version (the newest seen) per file."""

    def __init__(self, *, cron_data_intervals: bool = False) -> None:
        self._cron_data_intervals = cron_data_intervals
        """``scheduler.create_cron_data_intervals``: how cron strings become timetables
        (as in the parser, so that ``LatestOnlyOperator`` sees the DAG's own schedule)."""
        self._files: dict[str, ImportedFile] = {}
        self._lock = threading.Lock()
        self.imports = 0
        """How many times a file was actually imported (for tests and metrics)."""
        self.replacements = 0
        """How many of those imports replaced an older version of the same file (a
        pre-forked worker child is replaced after one, to drop the old module)."""

    def get_task(
        self, fileloc: str, dag_id: str, task_id: str, *, dags_folder: Path | None = None
    ) -> tuple[DAG, BaseOperator]:
        """The DAG ``dag_id`` and its task ``task_id`` as the file now defines them.

        Raises :class:`NotFoundError` when the file is gone or no longer defines the DAG
        or the task, :class:`DagValidationError` when the DAG is now invalid, and lets
        any error of the import itself propagate.
        """
        dag = self.load(fileloc, dags_folder=dags_folder).dag(dag_id)
        if not dag.has_task(task_id):
            raise NotFoundError(f"{fileloc} no longer defines task {task_id!r} of DAG {dag_id!r}")
        return dag, dag.get_task(task_id)

    def load(self, fileloc: str, *, dags_folder: Path | None = None) -> ImportedFile:
        """The file's DAGs, imported now unless this version is cached.

        ``dags_folder`` (else the file's own folder) goes on ``sys.path`` first, as when
        the parser imports the file, so that its imports of neighbour modules work.
        """
        path = Path(fileloc)
        if not path.is_file():
            raise NotFoundError(f"DAG file {fileloc} does not exist on this worker")
        digest = file_hash(path)
        with self._lock:
            cached = self._files.get(fileloc)
            if cached is not None and cached.file_hash == digest:
                return cached
            imported = import_dags(
                path, file_hash=digest, dags_folder=dags_folder or path.parent,
                cron_data_intervals=self._cron_data_intervals,
            )  # fmt: skip
            self.imports += 1
            self.replacements += cached is not None
            self._files[fileloc] = imported
            return imported
